using System.Globalization;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>The Redis implementation of <see cref="ICacheStore"/>: every intent is one command or script per hash slot.</summary>
/// <remarks>
/// Every call goes through the connection's circuit breaker: the hit's read through <paramref name="readLane"/> (the
/// soft read timeout), the others through <paramref name="lane"/>.
/// </remarks>
internal sealed class RedisCacheStore(RedisConnection connection, TimeSpan leaseTime, StoreLane readLane, StoreLane lane, ILogger? logger = null) : ICacheStore
{
    private readonly string _leaseMilliseconds = Milliseconds(leaseTime);
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <remarks>
    /// The whole hit: one MGET of the scope's version keys and the entry. MGET is atomic, so when the stamp at the start
    /// of the entry is the versions it returned, the entry is current — no script, no state kept between calls.
    /// </remarks>
    public async Task<StoredEntry> ReadAsync(EntryAddress address, CancellationToken cancellationToken)
    {
        string[] versionKeys = address.Scope.VersionKeys;
        var keys = new RedisKey[versionKeys.Length + 1];
        for (int i = 0; i < versionKeys.Length; i++)
        {
            keys[i] = versionKeys[i];
        }

        keys[^1] = address.EntryKey;
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        RedisValue[] values = await readLane.RunAsync(static s => s.Database.StringGetAsync(s.Keys), (Database: database, Keys: keys), cancellationToken).ConfigureAwait(false);
        RedisValue entry = values[^1];
        return !entry.IsNull && EntryStamp.MatchesVersions(entry, values, versionKeys.Length, out ReadOnlyMemory<byte> payload)
            ? StoredEntry.Hit(payload)
            : StoredEntry.Miss;
    }

    public async Task<StoredEntry> LeaseAsync(EntryAddress address, LeaseMode mode, CancellationToken cancellationToken)
    {
        string modeName = mode switch { LeaseMode.Read => "read", LeaseMode.Take => "take", _ => "force" };
        var parts = (RedisResult[])(await EvaluateAsync(LuaScripts.Lease, address, [_leaseMilliseconds, NewToken(), modeName], cancellationToken).ConfigureAwait(false))!;
        string stamp = (string)parts[0]!;
        if (parts.Length == 2)
        {
            return StoredEntry.Hit(EntryStamp.PayloadOf((byte[])parts[1]!));
        }

        string token = (string)parts[2]!;
        return new StoredEntry(null, token.Length > 0 ? new Lease(stamp, token) : null, true);
    }

    public async Task<bool> ExtendLeaseAsync(EntryAddress address, Lease lease, CancellationToken cancellationToken) =>
        (long)await EvaluateAsync(LuaScripts.Extend, address, [lease.Token, _leaseMilliseconds], cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> WriteAsync(EntryAddress address, Lease lease, ReadOnlyMemory<byte> payload, TimeSpan? ttl, bool replaces, CancellationToken cancellationToken)
    {
        RedisValue ttlArgument = ttl is { } t ? Milliseconds(t) : string.Empty;
        RedisValue value = EntryStamp.Prepend(lease.Stamp, payload);
        RedisValue[] arguments = replaces
            ? [lease.Stamp, lease.Token, ttlArgument, value, address.Scope.Channel]
            : [lease.Stamp, lease.Token, ttlArgument, value];
        try
        {
            return (long)await EvaluateAsync(LuaScripts.Write, address, arguments, cancellationToken).ConfigureAwait(false) == 1;
        }
        finally
        {
            if (replaces)
            {
                connection.Listener?.EntriesRemoved([address.EntryKey]);
            }
        }
    }

    public async Task SetAsync(EntryAddress address, ReadOnlyMemory<byte> payload, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        try
        {
            await EvaluateAsync(LuaScripts.Set, address, [_leaseMilliseconds, ttl is { } t ? Milliseconds(t) : string.Empty, payload, address.Scope.Channel], cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            connection.Listener?.EntriesRemoved([address.EntryKey]);
        }
    }

    public async Task ReleaseLeaseAsync(EntryAddress address, Lease lease, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        await lane.RunAsync(() => LuaScripts.Release.EvaluateAsync(database, [address.LeaseKey], [lease.Token]), cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(EntryAddress address, CancellationToken cancellationToken)
    {
        try
        {
            IDatabase database = await DatabaseAsync().ConfigureAwait(false);
            (RedisKey[] keys, RedisValue[] arguments) = RedisSourceIndexStore.DeleteEntriesCall([address.EntryKey]);
            RedisResult removed = await lane.RunAsync(() => LuaScripts.DeleteEntries.EvaluateAsync(database, keys, arguments), cancellationToken).ConfigureAwait(false);
            return (long)removed > 0;
        }
        finally
        {
            // Whether or not Redis confirmed it, this node's own memory forgets the entry now (the other nodes learn it
            // from the channel, or from the sequence when the message is lost).
            connection.Listener?.EntriesRemoved([address.EntryKey]);
        }
    }

    public async Task<long[]> BumpAsync(IReadOnlyList<string> versionKeys, CancellationToken cancellationToken)
    {
        try
        {
            return await BumpAndWaitAsync(versionKeys, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            connection.Listener?.VersionsBumped(versionKeys);
        }
    }

    private async Task<long[]> BumpAndWaitAsync(IReadOnlyList<string> versionKeys, CancellationToken cancellationToken)
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        if (!connection.IsCluster(multiplexer))
        {
            IDatabase database = multiplexer.GetDatabase();
            return await BumpOnAsync(database, versionKeys, cancellationToken).ConfigureAwait(false);
        }

        // Replication is asynchronous: a bump acknowledged by a primary that dies before its replica has it would be
        // undone by the failover. The bumps go on a connection of their own, followed by WAIT on the primaries that took
        // them (and have a replica), so WAIT blocks no other command; a shortfall is counted and logged.
        IConnectionMultiplexer replicated = await connection.GetReplicatedAsync().ConfigureAwait(false) ?? multiplexer;
        long[] versions = await BumpOnAsync(replicated.GetDatabase(), versionKeys, cancellationToken).ConfigureAwait(false);
        if (!ReferenceEquals(replicated, multiplexer))
        {
            IServer[] primaries = versionKeys.Select(k => replicated.GetServer((RedisKey)k)).DistinctBy(s => s.EndPoint)
                .Where(s => s.IsConnected && s.ClusterConfiguration?[s.EndPoint]?.Children.Count > 0)
                .ToArray();
            RedisResult[] acks = await lane.RunAsync(() => Task.WhenAll(primaries.Select(s => s.ExecuteAsync("WAIT", 1, 200))), cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < primaries.Length; i++)
            {
                if ((long)acks[i] < 1)
                {
                    connection.Resilience.Metrics.ReplicationShort();
                    Log.ReplicationShort(_logger, primaries[i].EndPoint.ToString() ?? "?");
                }
            }
        }

        return versions;
    }

    private async Task<long[]> BumpOnAsync(IDatabase database, IReadOnlyList<string> versionKeys, CancellationToken cancellationToken)
    {
        // Issued together and awaited together: StackExchange.Redis pipelines them (per node on a cluster).
        RedisResult[] results = await lane.RunAsync(
            () => Task.WhenAll(versionKeys.Select(key =>
            {
                string tag = KeyLayout.TagOf(key);
                return LuaScripts.Bump.EvaluateAsync(database, [key, KeyLayout.SequenceKeyOfTag(tag)], [KeyLayout.ChannelOfTag(tag)]);
            })),
            cancellationToken).ConfigureAwait(false);
        return Array.ConvertAll(results, r => (long)r);
    }

    public async Task<string> ClaimLayoutAsync(string key, string layout, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        return (string)(await lane.RunAsync(() => LuaScripts.ClaimLayout.EvaluateAsync(database, [key], [layout]), cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>A lease token no other load in any process can hold (128 random bits).</summary>
    private static string NewToken() => Guid.NewGuid().ToString("N");

    internal static string Milliseconds(TimeSpan time) =>
        Math.Max(time > TimeSpan.Zero ? 1L : 0L, (long)time.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    private async Task<RedisResult> EvaluateAsync(RedisScript script, EntryAddress address, RedisValue[] arguments, CancellationToken cancellationToken)
    {
        string[] versionKeys = address.Scope.VersionKeys;
        var keys = new RedisKey[versionKeys.Length + 3];
        for (int i = 0; i < versionKeys.Length; i++)
        {
            keys[i] = versionKeys[i];
        }

        keys[^3] = address.EntryKey;
        keys[^2] = address.LeaseKey;
        keys[^1] = address.Scope.SequenceKey;
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        return await lane.RunAsync(() => script.EvaluateAsync(database, keys, arguments), cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<IDatabase> DatabaseAsync() =>
        (await connection.GetAsync().ConfigureAwait(false)).GetDatabase();
}
