using CacheInvalidation.Keys;

namespace CacheInvalidation.Tests.Integration;

/// <summary>
/// A source invalidated while another node keeps registering new dependents of it, many at once: what was written before
/// the invalidation must all be gone after it, whatever the index's churn (single server and cluster share this drill).
/// </summary>
internal static class BusySourceDrill
{
    public const string Source = "table:hot";

    /// <summary>
    /// Writes <paramref name="before"/> dependents (<c>row/i</c>) through <paramref name="cache"/>, starts
    /// <paramref name="workers"/> loops registering new ones (<c>new-row/n</c>) through <paramref name="busy"/>, invalidates
    /// the source once <paramref name="startAfter"/> were added, stops the loops; returns what the invalidation removed,
    /// how many of the earlier dependents are still readable, and how many new ones were added in all.
    /// </summary>
    public static async Task<(long Removed, int StillReadable, int Added)> RunAsync(SmartCache cache, SmartCache busy, int before, int workers, int startAfter)
    {
        foreach (int[] chunk in Enumerable.Range(0, before).Chunk(500))
        {
            await Task.WhenAll(chunk.Select(i => cache.SetAsync(CacheKey.Entity("row", i), i, DependsOn()).AsTask()));
        }

        using var stop = new CancellationTokenSource();
        int added = 0;
        Task[] registering = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
                {
                    int n = Interlocked.Increment(ref added);
                    return busy.SetAsync(CacheKey.Entity("new-row", n), n, DependsOn()).AsTask();
                }));
            }
        })).ToArray();
        while (Volatile.Read(ref added) < startAfter)
        {
            await Task.Delay(5);
        }

        long removed = await cache.InvalidateSourceAsync(Source);
        await stop.CancelAsync();
        await Task.WhenAll(registering);

        bool[] readable = await Task.WhenAll(Enumerable.Range(0, before).Select(async i => (await cache.GetAsync<int>(CacheKey.Entity("row", i))).Found));
        return (removed, readable.Count(r => r), Volatile.Read(ref added));
    }

    private static CacheEntryOptions DependsOn() => new() { DependsOn = [Source] };
}
