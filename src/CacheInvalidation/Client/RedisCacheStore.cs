using System.Globalization;
using System.Runtime.CompilerServices;
using CacheInvalidation.Keys;
using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>The Redis implementation of <see cref="ICacheStore"/>: every intent is one script or one command per key.</summary>
internal sealed class RedisCacheStore(RedisConnection connection) : ICacheStore
{
    private readonly ConditionalWeakTable<VersionScope, RedisKey[]> _scopeKeys = new();

    public async Task<StoredEntry> ReadAsync(EntryAddress address, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        RedisResult result = await Run(
            LuaScripts.Read.EvaluateAsync(database, KeysOf(address.Scope), [address.Scope.EntryKeyPrefix, address.EntryKeySuffix]),
            cancellationToken).ConfigureAwait(false);
        if (result.Resp2Type == ResultType.BulkString)
        {
            return new StoredEntry((byte[]?)result, null);
        }

        return new StoredEntry(null, (string?)((RedisResult[])result!)[0]);
    }

    public async Task<bool> WriteAsync(EntryAddress address, string? expectedStamp, ReadOnlyMemory<byte> value, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        string ttlMilliseconds = ttl is { } t
            ? Math.Max(1L, (long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)
            : string.Empty;
        RedisResult result = await Run(
            LuaScripts.Write.EvaluateAsync(
                database,
                KeysOf(address.Scope),
                [address.Scope.EntryKeyPrefix, address.EntryKeySuffix, expectedStamp ?? string.Empty, ttlMilliseconds, value]),
            cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

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
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);

        // Issued together and awaited together: StackExchange.Redis pipelines them (per node on a cluster).
        var bumps = new Task<RedisResult>[versionKeys.Count];
        for (int i = 0; i < bumps.Length; i++)
        {
            bumps[i] = LuaScripts.Bump.EvaluateAsync(database, [versionKeys[i]], []);
        }

        RedisResult[] results = await Run(Task.WhenAll(bumps), cancellationToken).ConfigureAwait(false);
        return Array.ConvertAll(results, r => (long)r);
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
