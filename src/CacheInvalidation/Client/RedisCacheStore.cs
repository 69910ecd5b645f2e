using System.Globalization;
using System.Runtime.CompilerServices;
using CacheInvalidation.Keys;
using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>The Redis implementation of <see cref="ICacheStore"/>: every intent is one command or script per hash slot.</summary>
internal sealed class RedisCacheStore(RedisConnection connection) : ICacheStore
{
    private readonly ConditionalWeakTable<VersionScope, RedisKey[]> _scopeKeys = new();

    // The last version stamp seen per scope: a hit reads the versions and the entry under this stamp with one MGET.
    private readonly ConditionalWeakTable<VersionScope, StrongBox<string?>> _stamps = new();

    // Every read passes the same lease time: keep its text instead of formatting it on each hit.
    private (TimeSpan Time, string Text) _leaseArgument = (TimeSpan.Zero, "0");
    private bool? _isCluster;

    /// <remarks>
    /// The hit path is one MGET of the scope's version keys and the entry key under the last stamp seen: MGET is atomic,
    /// so when the versions it returns still make that stamp, the entry it returns is exactly what the read script would
    /// have read — at the cost of a plain multi-key read instead of a Lua call. Otherwise (a bump since, a miss, a
    /// version not created yet) the read script runs as before: it resolves the stamp and, on a miss, takes the lease.
    /// </remarks>
    public async Task<StoredEntry> ReadAsync(EntryAddress address, TimeSpan lease, CancellationToken cancellationToken)
    {
        StrongBox<string?> known = _stamps.GetValue(address.Scope, static _ => new StrongBox<string?>());
        if (known.Value is { } stamp)
        {
            RedisKey[] versionKeys = KeysOf(address.Scope);
            var keys = new RedisKey[versionKeys.Length + 1];
            versionKeys.CopyTo(keys, 0);
            keys[^1] = address.EntryKey(stamp);
            IDatabase database = await DatabaseAsync().ConfigureAwait(false);
            RedisValue[] values = await Run(database.StringGetAsync(keys), cancellationToken).ConfigureAwait(false);
            string? current = StampOf(values);
            if (current == stamp && !values[^1].IsNull)
            {
                return StoredEntry.Hit((byte[])values[^1]!);
            }

            if (current is not null)
            {
                known.Value = current;
            }
        }

        RedisResult result = await EvaluateAsync(LuaScripts.Read, address, LeaseArgument(lease), cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        known.Value = (string?)parts[0];
        if (parts.Length == 2)
        {
            return StoredEntry.Hit((byte[])parts[1]!);
        }

        string token = (string)parts[2]!;
        return new StoredEntry(null, (string)parts[0]!, token.Length == 0 ? null : token, TimeSpan.FromMilliseconds(Math.Max(0, (long)parts[3])));
    }

    /// <summary>The stamp the version values make (joined by '.'), or null when one is missing.</summary>
    private static string? StampOf(RedisValue[] values)
    {
        int versions = values.Length - 1;
        for (int i = 0; i < versions; i++)
        {
            if (values[i].IsNull)
            {
                return null;
            }
        }

        return versions == 1 ? (string?)values[0] : string.Join('.', values.Take(versions));
    }

    public async Task<StoredEntry> AcquireLeaseAsync(EntryAddress address, TimeSpan lease, CancellationToken cancellationToken) =>
        Miss(await EvaluateAsync(LuaScripts.Lease, address, Milliseconds(lease), cancellationToken).ConfigureAwait(false));

    public async Task<bool> WriteAsync(EntryAddress address, string? expectedStamp, string? leaseToken, ReadOnlyMemory<byte> value, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        RedisResult result = await Run(
            LuaScripts.Write.EvaluateAsync(
                database,
                KeysOf(address.Scope),
                [
                    address.Scope.EntryKeyPrefix,
                    address.EntryKeySuffix,
                    expectedStamp ?? string.Empty,
                    ttl is { } t ? Milliseconds(t) : string.Empty,
                    value,
                    leaseToken ?? string.Empty,
                ]),
            cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public Task ReleaseLeaseAsync(EntryAddress address, string leaseToken, CancellationToken cancellationToken) =>
        EvaluateAsync(LuaScripts.Release, address, leaseToken, cancellationToken);

    public async Task<(bool Removed, string Stamp)> DeleteAsync(EntryAddress address, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        RedisResult result = await Run(
            LuaScripts.Delete.EvaluateAsync(database, KeysOf(address.Scope), [address.Scope.EntryKeyPrefix, address.EntryKeySuffix]),
            cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        return ((long)parts[0] > 0, (string)parts[1]!);
    }

    public async Task<long[]> BumpAsync(IReadOnlyList<string> versionKeys, CancellationToken cancellationToken)
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        IDatabase database = multiplexer.GetDatabase();

        // Issued together and awaited together: StackExchange.Redis pipelines them (per node on a cluster).
        var bumps = new Task<RedisResult>[versionKeys.Count];
        for (int i = 0; i < bumps.Length; i++)
        {
            bumps[i] = LuaScripts.Bump.EvaluateAsync(database, [versionKeys[i]], []);
        }

        RedisResult[] results = await Run(Task.WhenAll(bumps), cancellationToken).ConfigureAwait(false);
        if (IsCluster(multiplexer))
        {
            // Replication is asynchronous: a bump acknowledged by a primary that dies before its replica has it would be
            // undone by the failover. WAIT on the primaries (which took the bumps on this connection) narrows that window
            // to the WAIT timeout; a primary that took none answers at once.
            IServer[] primaries = multiplexer.GetEndPoints().Select(e => multiplexer.GetServer(e)).Where(s => s.IsConnected && !s.IsReplica).ToArray();
            await Run(Task.WhenAll(primaries.Select(s => s.ExecuteAsync("WAIT", 1, 200))), cancellationToken).ConfigureAwait(false);
        }

        return Array.ConvertAll(results, r => (long)r);
    }

    public async Task RegisterDependentAsync(IReadOnlyList<string> indexKeys, string member, TimeSpan ttl, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        string milliseconds = Milliseconds(ttl);
        var registrations = new Task<RedisResult>[indexKeys.Count];
        for (int i = 0; i < registrations.Length; i++)
        {
            registrations[i] = LuaScripts.RegisterDependent.EvaluateAsync(database, [indexKeys[i]], [member, milliseconds]);
        }

        await Run(Task.WhenAll(registrations), cancellationToken).ConfigureAwait(false);
    }

    public async Task<(long Popped, long Removed, long Remaining)> InvalidateSourceBatchAsync(string indexKey, int batchSize, CancellationToken cancellationToken)
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        IDatabase database = multiplexer.GetDatabase();
        if (!IsCluster(multiplexer))
        {
            var parts = (RedisResult[])(await Run(LuaScripts.InvalidateSourceBatch.EvaluateAsync(database, [indexKey], [batchSize]), cancellationToken).ConfigureAwait(false))!;
            return ((long)parts[0], (long)parts[1], (long)parts[2]);
        }

        // On a cluster the dependents live in other slots than their index: read a batch, delete the entries and leases
        // slot by slot (pipelined to their nodes), and only then remove those members from the index — a member never
        // leaves the index before its entry is gone, so a crash in between only repeats work.
        RedisValue[] members = await Run(database.SetRandomMembersAsync(indexKey, batchSize), cancellationToken).ConfigureAwait(false);
        if (members.Length == 0)
        {
            return (0, 0, 0);
        }

        Task<RedisResult>[] deletions = members
            .GroupBy(m => multiplexer.HashSlot((string)m!))
            .Select(slot => LuaScripts.DeleteMembers.EvaluateAsync(database, slot.Select(m => (RedisKey)(string)m!).ToArray(), []))
            .ToArray();
        RedisResult[] removed = await Run(Task.WhenAll(deletions), cancellationToken).ConfigureAwait(false);
        await Run(database.SetRemoveAsync(indexKey, members), cancellationToken).ConfigureAwait(false);
        long left = await Run(database.SetLengthAsync(indexKey), cancellationToken).ConfigureAwait(false);
        return (members.Length, removed.Sum(r => (long)r), left);
    }

    public async Task<(long Cursor, long Pruned)> PruneSourceIndexAsync(string indexKey, long cursor, int count, CancellationToken cancellationToken)
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        IDatabase database = multiplexer.GetDatabase();
        if (IsCluster(multiplexer))
        {
            // One sampled page per call on a cluster: each member is checked on its own node.
            // A member whose lease still exists is being computed right now: it stays.
            RedisValue[] sample = await Run(database.SetRandomMembersAsync(indexKey, count), cancellationToken).ConfigureAwait(false);
            long[] alive = await Run(Task.WhenAll(sample.Select(m => database.KeyExistsAsync([(string)m!, LeaseOf((string)m!)]))), cancellationToken).ConfigureAwait(false);
            RedisValue[] dead = sample.Where((_, i) => alive[i] == 0).ToArray();
            long pruned = dead.Length == 0 ? 0 : await Run(database.SetRemoveAsync(indexKey, dead), cancellationToken).ConfigureAwait(false);
            return (0, pruned);
        }

        var parts = (RedisResult[])(await Run(LuaScripts.PruneSourceIndex.EvaluateAsync(database, [indexKey], [cursor, count]), cancellationToken).ConfigureAwait(false))!;
        return ((long)parts[0], (long)parts[1]);
    }

    /// <summary>The lease of an index member: "{tag}:ns:v{stamp}:id" has its lease at "{tag}:ns:id#l" (same slot).</summary>
    private static string LeaseOf(string member)
    {
        int idStart = member.LastIndexOf(':');
        int versionStart = member.LastIndexOf(':', idStart - 1);
        return string.Concat(member.AsSpan(0, versionStart), member.AsSpan(idStart), "#l");
    }

    private bool IsCluster(IConnectionMultiplexer multiplexer)
    {
        if (_isCluster is { } known)
        {
            return known;
        }

        bool cluster = multiplexer.GetEndPoints().Select(e => multiplexer.GetServer(e)).Any(s => s.IsConnected && s.ServerType == ServerType.Cluster);
        if (multiplexer.GetEndPoints().Any(e => multiplexer.GetServer(e).IsConnected))
        {
            _isCluster = cluster;
        }

        return cluster;
    }

    private static StoredEntry Miss(RedisResult result)
    {
        var parts = (RedisResult[])result!;
        string token = (string)parts[1]!;
        return new StoredEntry(null, (string)parts[0]!, token.Length == 0 ? null : token, TimeSpan.FromMilliseconds(Math.Max(0, (long)parts[2])));
    }

    private string LeaseArgument(TimeSpan lease)
    {
        (TimeSpan Time, string Text) cached = _leaseArgument;
        if (cached.Time != lease)
        {
            cached = (lease, Milliseconds(lease));
            _leaseArgument = cached;
        }

        return cached.Text;
    }

    private static string Milliseconds(TimeSpan time) =>
        Math.Max(time > TimeSpan.Zero ? 1L : 0L, (long)time.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    private async Task<RedisResult> EvaluateAsync(RedisScript script, EntryAddress address, string argument, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        return await Run(
            script.EvaluateAsync(database, KeysOf(address.Scope), [address.Scope.EntryKeyPrefix, address.EntryKeySuffix, argument]),
            cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> Run<T>(Task<T> operation, CancellationToken cancellationToken)
    {
        try
        {
            // StackExchange.Redis takes no token: a cancelled caller stops waiting; the command itself still completes.
            return cancellationToken.CanBeCanceled
                ? await operation.WaitAsync(cancellationToken).ConfigureAwait(false)
                : await operation.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new CacheStoreException("Redis failed: " + ex.Message, ex);
        }
    }

    private async ValueTask<IDatabase> DatabaseAsync() =>
        (await connection.GetAsync().ConfigureAwait(false)).GetDatabase();

    private RedisKey[] KeysOf(VersionScope scope) =>
        _scopeKeys.GetValue(scope, static s => Array.ConvertAll(s.VersionKeys, k => (RedisKey)k));
}
