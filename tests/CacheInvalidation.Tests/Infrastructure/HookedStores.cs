using CacheInvalidation.Client;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>
/// Where a test stops the cache on purpose: every store operation first awaits <see cref="Before"/> with its name
/// (<c>Read</c>, <c>Lease</c>, <c>Extend</c>, <c>Write</c>, <c>Set</c>, <c>Release</c>, <c>Delete</c>, <c>Bump</c>, <c>Register</c>,
/// <c>Snapshot</c>, <c>DrainStep</c>, <c>DeleteEntries</c>, <c>PruneStep</c>, <c>AreGone</c>), so a test can hold one
/// step of the protocol while another node acts — the forced interleavings of the consistency tests.
/// </summary>
internal sealed class StoreHooks
{
    public Func<string, Task> Before { get; set; } = static _ => Task.CompletedTask;

    /// <summary>Awaited after a <c>Read</c> or <c>Lease</c> returned, before its result is used.</summary>
    public Func<string, Task> After { get; set; } = static _ => Task.CompletedTask;

    /// <summary>Holds every call of <paramref name="operation"/> until the returned gate is opened; <paramref name="reached"/> completes when the first one arrives.</summary>
    public TaskCompletionSource Hold(string operation, TaskCompletionSource reached)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Func<string, Task> previous = Before;
        Before = async name =>
        {
            await previous(name);
            if (name == operation)
            {
                reached.TrySetResult();
                await gate.Task;
            }
        };
        return gate;
    }
}

internal sealed class HookedCacheStore(ICacheStore inner, StoreHooks hooks) : ICacheStore
{
    public async Task<StoredEntry> ReadAsync(EntryAddress address, CancellationToken cancellationToken)
    {
        await hooks.Before("Read");
        StoredEntry stored = await inner.ReadAsync(address, cancellationToken);
        await hooks.After("Read");
        return stored;
    }

    public async Task<StoredEntry> LeaseAsync(EntryAddress address, LeaseMode mode, CancellationToken cancellationToken)
    {
        await hooks.Before("Lease");
        StoredEntry stored = await inner.LeaseAsync(address, mode, cancellationToken);
        await hooks.After("Lease");
        return stored;
    }

    public async Task<bool> ExtendLeaseAsync(EntryAddress address, Lease lease, CancellationToken cancellationToken)
    {
        await hooks.Before("Extend");
        return await inner.ExtendLeaseAsync(address, lease, cancellationToken);
    }

    public async Task<bool> WriteAsync(EntryAddress address, Lease lease, ReadOnlyMemory<byte> payload, TimeSpan? ttl, bool replaces, CancellationToken cancellationToken)
    {
        await hooks.Before("Write");
        return await inner.WriteAsync(address, lease, payload, ttl, replaces, cancellationToken);
    }

    public async Task SetAsync(EntryAddress address, ReadOnlyMemory<byte> payload, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        await hooks.Before("Set");
        await inner.SetAsync(address, payload, ttl, cancellationToken);
    }

    public async Task ReleaseLeaseAsync(EntryAddress address, Lease lease, CancellationToken cancellationToken)
    {
        await hooks.Before("Release");
        await inner.ReleaseLeaseAsync(address, lease, cancellationToken);
    }

    public async Task<bool> DeleteAsync(EntryAddress address, CancellationToken cancellationToken)
    {
        await hooks.Before("Delete");
        return await inner.DeleteAsync(address, cancellationToken);
    }

    public async Task<long[]> BumpAsync(IReadOnlyList<string> versionKeys, CancellationToken cancellationToken)
    {
        await hooks.Before("Bump");
        return await inner.BumpAsync(versionKeys, cancellationToken);
    }

    public Task<string> ClaimLayoutAsync(string key, string layout, CancellationToken cancellationToken) =>
        inner.ClaimLayoutAsync(key, layout, cancellationToken);
}

internal sealed class HookedSourceIndexStore(ISourceIndexStore inner, StoreHooks hooks) : ISourceIndexStore
{
    public async Task RegisterAsync(IReadOnlyList<string> indexKeys, string entryKey, string token, TimeSpan ttl, CancellationToken cancellationToken)
    {
        await hooks.Before("Register");
        await inner.RegisterAsync(indexKeys, entryKey, token, ttl, cancellationToken);
    }

    public async Task<string[]> SnapshotAsync(SourceKeys source, CancellationToken cancellationToken)
    {
        await hooks.Before("Snapshot");
        return await inner.SnapshotAsync(source, cancellationToken);
    }

    public async Task<string[]> DrainStepAsync(SourceKeys source, string snapshot, IReadOnlyList<string> drained, int count, CancellationToken cancellationToken)
    {
        await hooks.Before("DrainStep");
        return await inner.DrainStepAsync(source, snapshot, drained, count, cancellationToken);
    }

    public async Task<long> DeleteEntriesAsync(IReadOnlyList<string> entryKeys, CancellationToken cancellationToken)
    {
        await hooks.Before("DeleteEntries");
        return await inner.DeleteEntriesAsync(entryKeys, cancellationToken);
    }

    public async Task<(long Cursor, IReadOnlyList<(string Member, string Token)> Page, long Removed)> PruneStepAsync(
        string indexKey, long? cursor, int count, IReadOnlyList<(string Member, string Token)> dead, CancellationToken cancellationToken)
    {
        await hooks.Before("PruneStep");
        return await inner.PruneStepAsync(indexKey, cursor, count, dead, cancellationToken);
    }

    public async Task<bool[]> AreGoneAsync(IReadOnlyList<string> entryKeys, CancellationToken cancellationToken)
    {
        await hooks.Before("AreGone");
        return await inner.AreGoneAsync(entryKeys, cancellationToken);
    }
}
