using System.Collections.Concurrent;
using System.Diagnostics;

namespace CacheInvalidation.Tests.Consistency;

/// <summary>
/// Drives caches the way an application does — writers update the source of truth and then invalidate (by whatever
/// kind the cache under test uses), readers read through the cache with factories that read the source and take a
/// random while — records every read and write, and checks the history afterwards:
/// <list type="bullet">
/// <item>a <b>stale read</b> returned a version older than the last write that completed before the read started; it is
/// <b>out of budget</b> when the version it returned had been superseded for longer than the budget when the read began;</item>
/// <item>a <b>stale entry</b> is a cached value that differs from the source once everything has settled.</item>
/// </list>
/// Then it forces the classic race once per entity for each <see cref="RaceTiming"/>: a reader loads the old value and
/// holds it while a writer updates the source, and the load's write is released before, during or after the
/// invalidation — so a cache that has the race is caught whatever the scheduling of the random phase.
/// </summary>
internal sealed class ConsistencyChecker(int entities, int readers, int writers, int reads, int seed)
{
    private readonly int[] _source = new int[entities];
    private readonly ConcurrentQueue<(int Entity, int Version, long Completed)> _writes = new();
    private readonly ConcurrentQueue<(int Entity, int Version, long Started)> _reads = new();

    /// <summary>When a held load's write is released relative to the invalidation.</summary>
    public enum RaceTiming
    {
        /// <summary>After the source changed, before the invalidation starts: the invalidation must remove it.</summary>
        Before,

        /// <summary>While the invalidation runs.</summary>
        During,

        /// <summary>After the invalidation completed: the write must be refused.</summary>
        After,
    }

    public async Task<ConsistencyReport> RunAsync(IReadOnlyList<ICacheUnderTest> caches, TimeSpan budget)
    {
        int remaining = reads;
        bool readersDone = false;

        async Task Reader(int index)
        {
            var random = new Random((seed * 1000) + index);
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
            var random = new Random((seed * 2000) + index);
            ICacheUnderTest cache = caches[index % caches.Count];
            while (!Volatile.Read(ref readersDone))
            {
                int entity = random.Next(entities);
                int version = Interlocked.Increment(ref _source[entity]);
                await cache.InvalidateAsync(entity, version);
                _writes.Enqueue((entity, version, Stopwatch.GetTimestamp()));
                await Task.Delay(random.Next(1, 4));
            }
        }

        Task[] writerTasks = Enumerable.Range(0, writers).Select(i => Task.Run(() => Writer(i))).ToArray();
        await Task.WhenAll(Enumerable.Range(0, readers).Select(i => Task.Run(() => Reader(i))));
        Volatile.Write(ref readersDone, true);
        await Task.WhenAll(writerTasks);

        var staleAfter = new Dictionary<RaceTiming, int>();
        foreach (RaceTiming timing in Enum.GetValues<RaceTiming>())
        {
            await ForceRaceOnEveryEntityAsync(caches, timing);
            staleAfter[timing] = await StaleEntriesAsync(caches);
        }

        return Check(budget, staleAfter);
    }

    private async Task ForceRaceOnEveryEntityAsync(IReadOnlyList<ICacheUnderTest> caches, RaceTiming timing)
    {
        await Task.WhenAll(Enumerable.Range(0, entities).Select(async entity =>
        {
            ICacheUnderTest reader = caches[entity % caches.Count];
            ICacheUnderTest writer = caches[(entity + 1) % caches.Count];
            await reader.ForgetAsync(entity); // make the reader miss (its own invalidation leaves its memory at once)
            var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            long started = Stopwatch.GetTimestamp();
            Task<int> read = reader.ReadAsync(entity, async _ =>
            {
                int old = Volatile.Read(ref _source[entity]);
                loaded.SetResult();
                await release.Task; // the writer updates (and invalidates) while this value is in flight
                return old;
            });
            await loaded.Task;
            int version = Interlocked.Increment(ref _source[entity]);
            switch (timing)
            {
                case RaceTiming.Before:
                    release.SetResult();
                    _reads.Enqueue((entity, await read, started));
                    await writer.InvalidateAsync(entity, version);
                    break;
                case RaceTiming.During:
                    Task invalidation = writer.InvalidateAsync(entity, version);
                    release.SetResult();
                    await invalidation;
                    _reads.Enqueue((entity, await read, started));
                    break;
                default:
                    await writer.InvalidateAsync(entity, version);
                    release.SetResult();
                    _reads.Enqueue((entity, await read, started));
                    break;
            }

            _writes.Enqueue((entity, version, Stopwatch.GetTimestamp()));
        }));
    }

    /// <summary>Stale entries once everything settled: in Redis and in every node's memory.</summary>
    private async Task<int> StaleEntriesAsync(IReadOnlyList<ICacheUnderTest> caches)
    {
        int stale = 0;
        foreach (ICacheUnderTest cache in caches)
        {
            await cache.SettleAsync();
            for (int entity = 0; entity < entities; entity++)
            {
                if (await cache.PeekAsync(entity) is { } cached && cached != Volatile.Read(ref _source[entity]))
                {
                    stale++;
                }
            }
        }

        return stale;
    }

    private ConsistencyReport Check(TimeSpan budget, Dictionary<RaceTiming, int> staleAfter)
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

        return new ConsistencyReport(
            _reads.Count,
            _writes.Count,
            staleReads,
            outOfBudget,
            staleAfter.Values.Sum(),
            staleAfter[RaceTiming.Before],
            staleAfter[RaceTiming.During],
            staleAfter[RaceTiming.After],
            maxAgeTicks * 1000.0 / Stopwatch.Frequency);
    }
}

/// <summary>
/// What the checker found. <see cref="StaleEntries"/> is the sum over the three forced rounds (each checked once all had
/// settled), also given per timing; <see cref="MaxStaleAgeMs"/> is how long the oldest stale read's version had been superseded.
/// </summary>
internal sealed record ConsistencyReport(
    int Reads,
    int Writes,
    int StaleReads,
    int OutOfBudgetStaleReads,
    int StaleEntries,
    int StaleAfterBefore,
    int StaleAfterDuring,
    int StaleAfterAfter,
    double MaxStaleAgeMs)
{
    public string Row(string cache, string kind, string topology) =>
        FormattableString.Invariant($"| {topology} | {kind} | {cache} | {Reads:N0} | {Writes:N0} | {StaleEntries} ({StaleAfterBefore}/{StaleAfterDuring}/{StaleAfterAfter}) | {StaleReads} | {OutOfBudgetStaleReads} | {MaxStaleAgeMs:0.0} |");
}
