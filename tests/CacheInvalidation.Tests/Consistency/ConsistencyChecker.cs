using System.Collections.Concurrent;
using System.Diagnostics;

namespace CacheInvalidation.Tests.Consistency;

/// <summary>
/// Drives caches the way an application does — writers update the source of truth and then invalidate, readers read
/// through the cache with factories that read the source and take a random while — records every read and write, and
/// checks the history afterwards:
/// <list type="bullet">
/// <item>a <b>stale read</b> returned a version older than the last write that completed before the read started; it is
/// <b>out of budget</b> when the version it returned had been superseded for longer than the budget when the read began;</item>
/// <item>a <b>stale entry</b> is a cached value that differs from the source once everything has settled.</item>
/// </list>
/// A final round forces the classic race once per entity (a reader loads, a writer updates and invalidates, the reader
/// writes what it loaded), so a cache that has the race is caught whatever the scheduling of the random phase.
/// </summary>
internal sealed class ConsistencyChecker(int entities, int readers, int writers, int reads, int seed)
{
    private readonly int[] _source = new int[entities];
    private readonly ConcurrentQueue<(int Entity, int Version, long Completed)> _writes = new();
    private readonly ConcurrentQueue<(int Entity, int Version, long Started)> _reads = new();

    public async Task<ConsistencyReport> RunAsync(IReadOnlyList<ICacheUnderTest> caches, TimeSpan budget)
    {
        int remaining = reads;
        bool readersDone = false;

        async Task Reader(int index)
        {
            var random = new Random(seed * 1000 + index);
            ICacheUnderTest cache = caches[index % caches.Count];
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                int entity = random.Next(entities);
                int delayMs = random.Next(3);
                long started = Stopwatch.GetTimestamp();
                int version = await cache.ReadAsync(entity, async ct =>
                {
                    int loaded = Volatile.Read(ref _source[entity]);
                    await Task.Delay(delayMs, ct); // the window in which a writer can update and invalidate
                    return loaded;
                });
                _reads.Enqueue((entity, version, started));
            }
        }

        async Task Writer(int index)
        {
            var random = new Random(seed * 2000 + index);
            ICacheUnderTest cache = caches[index % caches.Count];
            while (!Volatile.Read(ref readersDone))
            {
                int entity = random.Next(entities);
                int version = Interlocked.Increment(ref _source[entity]);
                await cache.InvalidateAsync(entity);
                _writes.Enqueue((entity, version, Stopwatch.GetTimestamp()));
                await Task.Delay(random.Next(3));
            }
        }

        Task[] writerTasks = Enumerable.Range(0, writers).Select(i => Task.Run(() => Writer(i))).ToArray();
        await Task.WhenAll(Enumerable.Range(0, readers).Select(i => Task.Run(() => Reader(i))));
        Volatile.Write(ref readersDone, true);
        await Task.WhenAll(writerTasks);

        await ForceRaceOnEveryEntityAsync(caches);
        return await CheckAsync(caches[0], budget);
    }

    private async Task ForceRaceOnEveryEntityAsync(IReadOnlyList<ICacheUnderTest> caches)
    {
        await Task.WhenAll(Enumerable.Range(0, entities).Select(async entity =>
        {
            ICacheUnderTest reader = caches[entity % caches.Count];
            ICacheUnderTest writer = caches[(entity + 1) % caches.Count];
            await writer.InvalidateAsync(entity); // make the reader miss
            var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            long started = Stopwatch.GetTimestamp();
            Task<int> read = reader.ReadAsync(entity, async _ =>
            {
                int old = Volatile.Read(ref _source[entity]);
                loaded.SetResult();
                await written.Task; // the writer updates and invalidates while this value is in flight
                return old;
            });
            await loaded.Task;
            int version = Interlocked.Increment(ref _source[entity]);
            await writer.InvalidateAsync(entity);
            _writes.Enqueue((entity, version, Stopwatch.GetTimestamp()));
            written.SetResult();
            _reads.Enqueue((entity, await read, started));
        }));
    }

    private async Task<ConsistencyReport> CheckAsync(ICacheUnderTest cache, TimeSpan budget)
    {
        var writesByEntity = _writes.GroupBy(w => w.Entity).ToDictionary(g => g.Key, g => g.OrderBy(w => w.Completed).ToList());
        long budgetTicks = (long)(budget.TotalSeconds * Stopwatch.Frequency);
        int staleReads = 0, outOfBudget = 0;
        long maxAgeTicks = 0;
        foreach (var read in _reads)
        {
            if (!writesByEntity.TryGetValue(read.Entity, out var writes))
            {
                continue;
            }

            int required = writes.Where(w => w.Completed < read.Started).Select(w => w.Version).DefaultIfEmpty(0).Max();
            if (read.Version >= required)
            {
                continue;
            }

            staleReads++;
            long supersededAt = writes.Where(w => w.Version > read.Version).Min(w => w.Completed);
            maxAgeTicks = Math.Max(maxAgeTicks, read.Started - supersededAt);
            if (read.Started - supersededAt > budgetTicks)
            {
                outOfBudget++;
            }
        }

        int staleEntries = 0;
        for (int entity = 0; entity < entities; entity++)
        {
            if (await cache.PeekAsync(entity) is { } cached && cached != Volatile.Read(ref _source[entity]))
            {
                staleEntries++;
            }
        }

        return new ConsistencyReport(_reads.Count, _writes.Count, staleReads, outOfBudget, staleEntries, maxAgeTicks * 1000.0 / Stopwatch.Frequency);
    }
}

/// <summary>What the checker found; <see cref="MaxStaleAgeMs"/> is how long the oldest stale read's version had been superseded.</summary>
internal sealed record ConsistencyReport(int Reads, int Writes, int StaleReads, int OutOfBudgetStaleReads, int StaleEntries, double MaxStaleAgeMs);
