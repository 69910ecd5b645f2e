using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>
/// The Redis side of orphan control: <see cref="LuaScripts.Orphans"/> once per hash slot (pipelined), each entry checked
/// against versions of its own hash tag, through the connection's operations lane (breaker, the client's timeout).
/// </summary>
internal sealed class RedisOrphanStore(RedisConnection connection) : IOrphanStore
{
    public async Task<EntryCheck[]> CheckAsync(IReadOnlyList<OrphanCandidate> entries, TimeSpan? removeAbove, CancellationToken cancellationToken)
    {
        // '' only checks; a number (ms) removes the orphans living longer than it. 0 ms removes every orphan with a TTL
        // left, and PTTL -1 (no TTL) always qualifies.
        RedisValue mode = removeAbove is { } above ? (long)above.TotalMilliseconds : RedisValue.EmptyString;
        var positions = new Dictionary<string, int>(entries.Count, StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++)
        {
            positions[entries[i].EntryKey] = i;
        }

        var results = await connection.EvaluatePerSlotAsync(
            connection.Resilience.Operations,
            LuaScripts.Orphans,
            entries,
            static entry => entry.EntryKey,
            group => Call(group, mode),
            cancellationToken).ConfigureAwait(false);

        var checks = new EntryCheck[entries.Count];
        foreach ((OrphanCandidate[] group, RedisResult result) in results)
        {
            var values = (RedisResult[])result!;
            for (int i = 0; i < group.Length; i++)
            {
                checks[positions[group[i].EntryKey]] = new EntryCheck((EntryStatus)(long)values[2 * i], (long)values[(2 * i) + 1]);
            }
        }

        return checks;
    }

    private static (RedisKey[] Keys, RedisValue[] Arguments) Call(OrphanCandidate[] group, RedisValue mode)
    {
        var keys = new List<RedisKey>(group.Length * 3);
        var arguments = new RedisValue[group.Length + 1];
        arguments[0] = mode;
        for (int i = 0; i < group.Length; i++)
        {
            // The version keys come from the entry's own scope (KeyLayout): same hash tag, so one slot per group.
            string[] versions = group[i].Scope.VersionKeys;
            foreach (string version in versions)
            {
                keys.Add(version);
            }

            keys.Add(group[i].EntryKey);
            arguments[i + 1] = versions.Length;
        }

        return (keys.ToArray(), arguments);
    }
}
