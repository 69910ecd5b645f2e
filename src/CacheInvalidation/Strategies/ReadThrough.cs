using System.Collections.Concurrent;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Local;
using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The read-through and lease protocol every read and write goes through. A hit is one atomic read of the entry and its
/// versions. A miss takes the entry's lease (in Redis, so across processes), registers the entry in its sources'
/// indexes, runs the factory once (shared by the process's callers), keeps the lease while the factory runs, and writes
/// only if the lease and the version stamp still hold: every invalidation voids one or the other first, so a value
/// computed before an invalidation is never written after it. Stale-while-revalidate and early refresh run under the
/// lease too. Its store calls go through the read lane: a soft timeout, then the caller falls back to the source.
/// </summary>
internal sealed class ReadThrough(
    ICacheStore store,
    DependencySetStrategy dependencies,
    EntryCodec codec,
    LayoutGuard layoutGuard,
    LocalTier? local,
    TimeProvider time,
    ILogger logger,
    TimeSpan leaseTime,
    double earlyRefreshBeta,
    CacheMetrics metrics,
    MissStorms storms)
{
    private readonly LeasedWrite _writer = new(store, dependencies, codec, layoutGuard, local, time, logger, leaseTime, metrics);
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan MaxPoll = TimeSpan.FromMilliseconds(10);

    private readonly FlightCoalescer _flights = new();
    private readonly ConcurrentDictionary<string, byte> _refreshing = new(StringComparer.Ordinal);

    public Task<T> GetOrSetAsync<TState, T>(KeyLayout layout, CacheKey key, EntryAddress address, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, TtlDecision decision, string[]? indexKeys, CancellationToken cancellationToken) =>
        _flights.RunAsync(
            address.EntryKey,
            new Load<TState, T>(this, layout, key, address, state, factory, decision, indexKeys),
            indexKeys,
            static (Load<TState, T> load, Flight<T> flight) => load.Owner.FlightAsync(load, flight),
            cancellationToken);

    /// <summary>Reads an entry without taking a lease or creating a key; a failing store or a corrupt entry is a miss.</summary>
    public async Task<CacheResult<T>> GetAsync<T>(CacheKey key, EntryAddress address, CancellationToken cancellationToken)
    {
        StoredEntry stored;
        try
        {
            stored = await store.ReadAsync(address, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            ReadFailed(key, ex);
            return default;
        }

        if (stored.Payload is { } payload)
        {
            // A key that still exists is inside its stale budget (the key lives for TTL + budget), so it is served.
            if (codec.TryDeserialize(key, payload, out T? value, out _, out _))
            {
                metrics.Request("hit");
                return new CacheResult<T>(value!);
            }

            await DeleteCorruptAsync(key, address).ConfigureAwait(false);
        }

        metrics.Request("miss");
        storms.Miss(key);
        return default;
    }

    /// <summary>New callers of this entry start a new flight (after an invalidation of it).</summary>
    public void Detach(string entryKey) => _flights.Detach(entryKey);

    /// <summary>New callers of every entry start new flights (after an invalidation that may concern any).</summary>
    public void DetachAll() => _flights.DetachAll();

    /// <summary>A read the store failed: counted and logged; the caller falls back to the source (or a miss).</summary>
    private void ReadFailed(CacheKey key, CacheStoreException exception)
    {
        metrics.Request("error");
        metrics.StoreError("read");
        Log.ReadFailed(logger, key.ToString(), exception);
    }

    /// <summary>
    /// One flight of a read-through: it serves every caller that joined it, so it listens to no single caller's token —
    /// only to the flight's, cancelled when all of them have left.
    /// </summary>
    private async Task<T> FlightAsync<TState, T>(Load<TState, T> load, Flight<T> flight)
    {
        DateTimeOffset? waitDeadline = null;
        bool lastLook = false;
        TimeSpan poll = FirstPoll;
        LeaseMode? mode = null; // null: the plain atomic read first
        while (true)
        {
            StoredEntry stored;
            LocalGuard? guard = Guard(load); // before the read: what it returns enters memory only if nothing changed since
            try
            {
                stored = mode is { } m
                    ? await store.LeaseAsync(load.Address, m, CancellationToken.None).ConfigureAwait(false)
                    : await store.ReadAsync(load.Address, CancellationToken.None).ConfigureAwait(false);
                if (stored.Payload is { } payload)
                {
                    if (codec.TryDeserialize(load.Key, payload, out T? value, out long freshUntilMs, out int computeMs))
                    {
                        long nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
                        if (nowMs < freshUntilMs || nowMs < freshUntilMs + (long)load.Decision.StaleBudget.TotalMilliseconds)
                        {
                            bool fresh = nowMs < freshUntilMs;
                            if (!fresh || ShouldRefreshEarly(nowMs, freshUntilMs, computeMs))
                            {
                                StartRefresh(load);
                            }
                            else if (guard is { } g)
                            {
                                local!.Insert(g, load.Key, value, freshUntilMs, load.Decision.LocalBudget);
                            }

                            metrics.Request(fresh ? "hit" : "stale");
                            EndWait(waitDeadline, "served");
                            return value!;
                        }
                    }
                    else
                    {
                        await DeleteCorruptAsync(load.Key, load.Address).ConfigureAwait(false);
                    }

                    // Expired past its stale budget (clocks differ) or corrupt: load it, whatever the entry holds.
                    mode = LeaseMode.Take;
                    continue;
                }

                if (!stored.AskedForLease)
                {
                    mode = LeaseMode.Read;
                    continue;
                }
            }
            catch (CacheStoreException ex)
            {
                ReadFailed(load.Key, ex);
                return await load.RunFactoryAsync(metrics, "store_error", flight.Token).ConfigureAwait(false);
            }

            if (stored.Lease is { } lease)
            {
                metrics.Request("miss");
                storms.Miss(load.Key);
                return await _writer.ComputeAndWriteAsync(load, lease, flight.CloseSources(), flight, guard).ConfigureAwait(false);
            }

            // Another caller, in this process or another, holds the lease: wait for its value with back-off, at most the
            // lease time (a crashed owner's lease expires by then and the next read takes it).
            DateTimeOffset now = time.GetUtcNow();
            waitDeadline ??= now + leaseTime;
            if (now >= waitDeadline && !lastLook)
            {
                // The reply that said "held" may have been read late (a busy machine): one more read, sent after the
                // deadline, finds a crashed owner's lease expired for sure and takes it; a live owner's is still held.
                lastLook = true;
                mode = null;
                continue;
            }

            if (now >= waitDeadline)
            {
                metrics.LeaseWait("timeout");
                Log.LeaseWaitTimedOut(logger, load.Key.ToString(), (long)leaseTime.TotalMilliseconds);
                return await load.RunFactoryAsync(metrics, "lease_timeout", flight.Token).ConfigureAwait(false);
            }

            await Task.Delay(poll, time, flight.Token).ConfigureAwait(false);
            poll = poll * 2 < MaxPoll ? poll * 2 : MaxPoll;
            mode = null;
        }
    }

    private LocalGuard? Guard<TState, T>(Load<TState, T> load) =>
        load.Decision.IsLocal && local is not null ? local.Capture(load.Layout, load.Address.Scope) : null;

    private void EndWait(DateTimeOffset? waitDeadline, string outcome)
    {
        if (waitDeadline is not null)
        {
            metrics.LeaseWait(outcome);
        }
    }

    private bool ShouldRefreshEarly(long nowMs, long freshUntilMs, int computeMs)
    {
        if (earlyRefreshBeta <= 0 || computeMs <= 0 || freshUntilMs == long.MaxValue)
        {
            return false;
        }

        // XFetch: refresh when now − δ·β·ln(U) ≥ expiry, U uniform in (0, 1]; likelier as expiry nears and for slow values.
        double gap = -computeMs * earlyRefreshBeta * Math.Log(1.0 - Random.Shared.NextDouble());
        return nowMs + gap >= freshUntilMs;
    }

    /// <summary>Refreshes an entry in the background, once per process and only with the entry's lease.</summary>
    private void StartRefresh<TState, T>(Load<TState, T> load)
    {
        if (_refreshing.TryAdd(load.Address.EntryKey, 0))
        {
            _ = RefreshAsync(load);
        }
    }

    private async Task RefreshAsync<TState, T>(Load<TState, T> load)
    {
        try
        {
            LocalGuard? guard = Guard(load);
            StoredEntry taken = await store.LeaseAsync(load.Address, LeaseMode.Take, CancellationToken.None).ConfigureAwait(false);
            if (taken.Lease is { } lease)
            {
                await _writer.ComputeAndWriteAsync(load, lease, load.IndexKeys, flight: null, guard).ConfigureAwait(false);
                metrics.Refresh("done");
            }
            else
            {
                metrics.Refresh("skipped");
            }
        }
#pragma warning disable CA1031 // Nobody awaits a background refresh: its failure is logged and the stale value ages out.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            metrics.Refresh("error");
            Log.RefreshFailed(logger, load.Key.ToString(), ex);
        }
        finally
        {
            _refreshing.TryRemove(load.Address.EntryKey, out _);
        }
    }

    /// <summary>Deletes an unreadable entry (voiding its lease); a failure only means the next read finds it again.</summary>
    private async Task DeleteCorruptAsync(CacheKey key, EntryAddress address)
    {
        try
        {
            await store.DeleteAsync(address, CancellationToken.None).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            Log.CorruptEntryDeleteFailed(logger, key.ToString(), ex);
        }
    }
}
