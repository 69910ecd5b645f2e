using System.Globalization;
using CacheInvalidation.Keys;
using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>The Redis implementation of <see cref="ISourceIndexStore"/>: an index is a hash under the source's own hash tag.</summary>
/// <remarks>Every call goes through <paramref name="lane"/>: the connection's circuit breaker, and for the read lane a soft timeout.</remarks>
internal sealed class RedisSourceIndexStore(RedisConnection connection, StoreLane lane) : ISourceIndexStore
{
    public async Task RegisterAsync(IReadOnlyList<string> indexKeys, string entryKey, string token, TimeSpan ttl, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        RedisValue[] arguments = [entryKey, token, RedisCacheStore.Milliseconds(ttl)];
        await lane.RunAsync(
            () => Task.WhenAll(indexKeys.Select(index => LuaScripts.Register.EvaluateAsync(database, [index], arguments))),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<string[]> SnapshotAsync(SourceKeys source, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        RedisResult result = await lane.RunAsync(() => LuaScripts.Snapshot.EvaluateAsync(database, [source.Index, source.DrainList, source.NewSnapshot()], []), cancellationToken).ConfigureAwait(false);
        return (string[])result!;
    }

    public async Task<string[]> DrainStepAsync(SourceKeys source, string snapshot, IReadOnlyList<string> drained, int count, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        var arguments = new RedisValue[drained.Count + 1];
        arguments[0] = count;
        for (int i = 0; i < drained.Count; i++)
        {
            arguments[i + 1] = drained[i];
        }

        RedisResult result = await lane.RunAsync(() => LuaScripts.DrainStep.EvaluateAsync(database, [snapshot, source.DrainList], arguments), cancellationToken).ConfigureAwait(false);
        return (string[])result!;
    }

    /// <remarks>One script per hash slot (one in all on a standalone server), pipelined; inside it, the entries shard by shard.</remarks>
    public async Task<long> DeleteEntriesAsync(IReadOnlyList<string> entryKeys, CancellationToken cancellationToken)
    {
        try
        {
            var results = await connection.EvaluatePerSlotAsync(lane, LuaScripts.DeleteEntries, entryKeys, static key => key, DeleteEntriesCall, cancellationToken).ConfigureAwait(false);
            return results.Sum(r => (long)r.Result);
        }
        finally
        {
            connection.Listener?.EntriesRemoved(entryKeys);
        }
    }

    /// <summary>The KEYS and ARGV of <see cref="LuaScripts.DeleteEntries"/> for entries of one hash slot: shard by shard, its sequence, channel and (entry, lease) pairs.</summary>
    internal static (RedisKey[] Keys, RedisValue[] Arguments) DeleteEntriesCall(string[] entryKeys)
    {
        var keys = new List<RedisKey>(entryKeys.Length * 3);
        var arguments = new List<RedisValue>();
        foreach (IGrouping<string, string> shard in entryKeys.GroupBy(KeyLayout.TagOf, StringComparer.Ordinal))
        {
            keys.Add(KeyLayout.SequenceKeyOfTag(shard.Key));
            arguments.Add(KeyLayout.ChannelOfTag(shard.Key));
            arguments.Add(shard.Count());
            foreach (string entry in shard)
            {
                keys.Add(entry);
                keys.Add(KeyLayout.LeaseKeyOf(entry));
            }
        }

        return ([.. keys], [.. arguments]);
    }

    public async Task<(long Cursor, IReadOnlyList<(string Member, string Token)> Page, long Removed)> PruneStepAsync(
        string indexKey, long? cursor, int count, IReadOnlyList<(string Member, string Token)> dead, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        var arguments = new List<RedisValue>(2 + (dead.Count * 2))
        {
            cursor is { } c ? c.ToString(CultureInfo.InvariantCulture) : string.Empty,
            count,
        };
        foreach ((string member, string token) in dead)
        {
            arguments.Add(member);
            arguments.Add(token);
        }

        var parts = (RedisResult[])(await lane.RunAsync(() => LuaScripts.PruneStep.EvaluateAsync(database, [indexKey], [.. arguments]), cancellationToken).ConfigureAwait(false))!;
        var flat = (string[])parts[1]!;
        var page = new (string, string)[flat.Length / 2];
        for (int i = 0; i < page.Length; i++)
        {
            page[i] = (flat[2 * i], flat[(2 * i) + 1]);
        }

        return (long.Parse((string)parts[0]!, CultureInfo.InvariantCulture), page, (long)parts[2]);
    }

    public async Task<bool[]> AreGoneAsync(IReadOnlyList<string> entryKeys, CancellationToken cancellationToken)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);

        // One EXISTS of the entry and its lease per member (one slot each), pipelined.
        long[] existing = await lane.RunAsync(() => Task.WhenAll(entryKeys.Select(k => database.KeyExistsAsync([k, KeyLayout.LeaseKeyOf(k)]))), cancellationToken).ConfigureAwait(false);
        return Array.ConvertAll(existing, e => e == 0);
    }

    private async ValueTask<IDatabase> DatabaseAsync() =>
        (await connection.GetAsync().ConfigureAwait(false)).GetDatabase();
}
