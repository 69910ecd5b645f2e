using System.Buffers;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Strategies;

/// <summary>
/// A direct set (<c>SetAsync</c>): it voids the lease of any load in flight (whose write is then refused) and writes under
/// the current stamp, in one atomic script. With sources it takes the lease itself, registers the entry in them, and
/// writes under the same rule as a load — so an invalidation in between refuses it, never leaving an entry its indexes
/// do not list. Its calls go through the operation lane: a failure reaches the caller, who asked for the write.
/// </summary>
internal sealed class DirectSet(ICacheStore store, DependencySetStrategy dependencies, EntryCodec codec, ILogger logger, TimeSpan leaseTime)
{
    /// <summary>Writes <paramref name="value"/>; returns whether it was written (false: an invalidation came in between).</summary>
    public async Task<bool> SetAsync<T>(CacheKey key, EntryAddress address, T value, TtlDecision decision, string[]? indexKeys, CancellationToken cancellationToken)
    {
        ArrayBufferWriter<byte> payload = codec.Serialize(value, decision, computeMs: 0);
        if (indexKeys is null)
        {
            await store.SetAsync(address, payload.WrittenMemory, decision.PhysicalTtl, cancellationToken).ConfigureAwait(false);
            return true;
        }

        StoredEntry taken = await store.LeaseAsync(address, LeaseMode.Force, cancellationToken).ConfigureAwait(false);
        Lease lease = taken.Lease!.Value;
        try
        {
            await dependencies.RegisterAsync(indexKeys, address.EntryKey, lease.Token, decision.IndexTtl(leaseTime), cancellationToken).ConfigureAwait(false);
            return await store.WriteAsync(address, lease, payload.WrittenMemory, decision.PhysicalTtl, replaces: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Failed or cancelled between taking the lease and writing: give it back, so readers do not wait for it.
            try
            {
                await store.ReleaseLeaseAsync(address, lease, CancellationToken.None).ConfigureAwait(false);
            }
            catch (CacheStoreException ex)
            {
                Log.LeaseReleaseFailed(logger, key.ToString(), ex);
            }

            throw;
        }
    }
}
