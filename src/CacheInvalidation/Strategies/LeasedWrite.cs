using System.Buffers;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using CacheInvalidation.Local;
using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The owner's side of the lease protocol: registers the entry in its sources, runs the factory while keeping the lease,
/// and writes the value only if the lease and the version stamp survived. Shared by the read-through's flights and its
/// background refreshes.
/// </summary>
/// <remarks>A value Redis accepted enters the node's memory too (its class permitting) if its shard did not change since <c>guard</c> was taken.</remarks>
internal sealed class LeasedWrite(ICacheStore store, DependencySetStrategy dependencies, EntryCodec codec, LayoutGuard layoutGuard, LocalTier? local, TimeProvider time, ILogger logger, TimeSpan leaseTime, CacheMetrics metrics)
{
    /// <summary>
    /// Runs the factory as the lease owner — registered in its sources first, its lease kept while the factory runs —
    /// and writes the value if the lease and the stamp survived; the value is returned either way.
    /// </summary>
    /// <param name="load">The read-through.</param>
    /// <param name="lease">The lease this caller holds.</param>
    /// <param name="indexKeys">The indexes to register in first; null for none.</param>
    /// <param name="flight">The flight it serves, for the factory's token and its late joiners; null for a background refresh.</param>
    /// <param name="guard">Taken before the lease: the value enters memory only if its shard did not change since; null: it does not.</param>
    public async Task<T> ComputeAndWriteAsync<TState, T>(Load<TState, T> load, Lease lease, string[]? indexKeys, Flight<T>? flight, LocalGuard? guard)
    {
        CancellationToken factoryToken = flight?.Token ?? CancellationToken.None;
        if (indexKeys is not null)
        {
            // Registered before the value is computed: an invalidation of a source from now on finds this entry and
            // voids the lease, so a value computed from the old source is refused when written.
            try
            {
                await dependencies.RegisterAsync(indexKeys, load.Address.EntryKey, lease.Token, load.Decision.IndexTtl(leaseTime), CancellationToken.None).ConfigureAwait(false);
            }
            catch (CacheStoreException ex)
            {
                Log.RegisterFailed(logger, load.Key.ToString(), ex);
                await ReleaseLeaseAsync(load.Key, load.Address, lease).ConfigureAwait(false);
                return await load.RunFactoryAsync(metrics, "store_error", factoryToken).ConfigureAwait(false);
            }
        }

        long started = time.GetTimestamp();
        T value;
        using (var keeper = new CancellationTokenSource())
        {
            try
            {
                ValueTask<T> computing = load.RunFactoryAsync(metrics, flight is null ? "refresh" : "miss", factoryToken);
                if (!computing.IsCompleted)
                {
                    // Not awaited: an extension still in flight when the value is ready is harmless (the write or the
                    // release ends the lease, and an extension only applies to the token it names).
                    _ = KeepLeaseAsync(load, lease, indexKeys, keeper.Token);
                }

                value = await computing.ConfigureAwait(false);
            }
            catch
            {
                await ReleaseLeaseAsync(load.Key, load.Address, lease).ConfigureAwait(false);
                throw;
            }
            finally
            {
                await keeper.CancelAsync().ConfigureAwait(false);
            }
        }

        if (flight is not null && !flight.CloseForWrite())
        {
            metrics.Write("skipped");
            Log.WriteSkipped(logger, load.Key.ToString());
            await ReleaseLeaseAsync(load.Key, load.Address, lease).ConfigureAwait(false);
            return value;
        }

        int computeMs = (int)Math.Min(int.MaxValue, time.GetElapsedTime(started).TotalMilliseconds);
        ArrayBufferWriter<byte> payload;
        try
        {
            payload = codec.Serialize(value, load.Decision, computeMs);
        }
        catch (SerializerConfigurationException)
        {
            // Not this value's fault: no value of the type could be cached, so the callers must see it.
            await ReleaseLeaseAsync(load.Key, load.Address, lease).ConfigureAwait(false);
            throw;
        }
#pragma warning disable CA1031 // The value is still returned to its callers; failing to cache it must not fail the read.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            metrics.Write("error");
            Log.SerializeFailed(logger, load.Key.ToString(), ex);
            await ReleaseLeaseAsync(load.Key, load.Address, lease).ConfigureAwait(false);
            return value;
        }

        try
        {
            if (await layoutGuard.MismatchAsync(CancellationToken.None).ConfigureAwait(false) is { } mismatch)
            {
                metrics.Write("error");
                Log.LayoutMismatch(logger, mismatch);
                await ReleaseLeaseAsync(load.Key, load.Address, lease).ConfigureAwait(false);
                return value;
            }

            bool written = await store.WriteAsync(load.Address, lease, payload.WrittenMemory, load.Decision.PhysicalTtl, replaces: false, CancellationToken.None).ConfigureAwait(false);
            metrics.Write(written ? "written" : "refused");
            if (written && guard is { } g)
            {
                local!.Insert(g, load.Key, value, EntryCodec.FreshUntilOf(payload.WrittenSpan), load.Decision.LocalBudget);
            }
        }
        catch (CacheStoreException ex)
        {
            metrics.Write("error");
            metrics.StoreError("write");
            Log.WriteFailed(logger, load.Key.ToString(), ex);
            await ReleaseLeaseAsync(load.Key, load.Address, lease).ConfigureAwait(false);
        }

        return value;
    }

    /// <summary>
    /// Extends a slow factory's lease (and its versions' and indexes' TTLs) every third of the lease time, so a value that
    /// takes longer than the lease time to compute is still cached. Stops when the lease was voided: the write will be
    /// refused then.
    /// </summary>
    private async Task KeepLeaseAsync<TState, T>(Load<TState, T> load, Lease lease, string[]? indexKeys, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(leaseTime / 3, time, stop).ConfigureAwait(false);
                try
                {
                    if (!await store.ExtendLeaseAsync(load.Address, lease, CancellationToken.None).ConfigureAwait(false))
                    {
                        return; // voided by an invalidation: the write will be refused
                    }

                    if (indexKeys is not null)
                    {
                        await dependencies.RegisterAsync(indexKeys, load.Address.EntryKey, lease.Token, load.Decision.IndexTtl(leaseTime), CancellationToken.None).ConfigureAwait(false);
                    }
                }
                catch (CacheStoreException ex)
                {
                    // One slow or failed extension is not the end: try again next time. If the lease expires meanwhile,
                    // the write is refused (a missing lease cannot be told from one an invalidation deleted); the callers
                    // still get their value.
                    Log.LeaseExtendFailed(logger, load.Key.ToString(), ex);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Gives the lease back if it still holds the token; a failure only means it expires by itself.</summary>
    private async Task ReleaseLeaseAsync(CacheKey key, EntryAddress address, Lease lease)
    {
        try
        {
            await store.ReleaseLeaseAsync(address, lease, CancellationToken.None).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            Log.LeaseReleaseFailed(logger, key.ToString(), ex);
        }
    }
}
