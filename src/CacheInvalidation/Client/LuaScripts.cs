namespace CacheInvalidation.Client;

/// <summary>
/// The scripts behind the store's intents. Each one touches only keys of one version scope, which all share a hash tag
/// (see <c>KeyLayout</c>): KEYS are the scope's version keys, and the entry key is built inside the script from
/// ARGV[1] (the key up to the version stamp), the resolved stamp and ARGV[2] (the id suffix). That keeps the hit path
/// at one round trip and every script inside one hash slot.
/// </summary>
internal static class LuaScripts
{
    // A missing version starts at the server's clock in microseconds. Versions only ever grow by INCR from there, so a
    // version key that was evicted or lost restarts above every value it can have had before (no call rate reaches one
    // bump per microsecond): entries written under an older version can never become readable again.
    private const string ResolveStamp = """
        local function version(key)
          local v = redis.call('GET', key)
          if not v then
            local t = redis.call('TIME')
            v = t[1] .. string.format('%06d', tonumber(t[2]))
            redis.call('SET', key, v)
          end
          return v
        end
        local stamp = version(KEYS[1])
        for i = 2, #KEYS do stamp = stamp .. '.' .. version(KEYS[i]) end

        """;

    /// <summary>
    /// Resolves the stamp and reads the entry: returns the value on a hit, and { stamp } on a miss (the stamp is only
    /// needed to write the value computed after a miss, so a hit does not carry it).
    /// </summary>
    public static readonly RedisScript Read = new(ResolveStamp + """
        local value = redis.call('GET', ARGV[1] .. stamp .. ARGV[2])
        if value then return value end
        return { stamp }
        """);

    /// <summary>
    /// Writes the entry (ARGV[5]) with a TTL in ms (ARGV[4], empty for none), but only if the versions still resolve to
    /// the stamp the value was read under (ARGV[3], empty to write under the current versions): a value computed before
    /// a version bump is never written under the new version. Returns 1 when written, 0 when refused.
    /// </summary>
    public static readonly RedisScript Write = new(ResolveStamp + """
        if ARGV[3] ~= '' and ARGV[3] ~= stamp then return 0 end
        local key = ARGV[1] .. stamp .. ARGV[2]
        if ARGV[4] == '' then
          redis.call('SET', key, ARGV[5])
        else
          redis.call('SET', key, ARGV[5], 'PX', ARGV[4])
        end
        return 1
        """);

    /// <summary>Deletes the entry under the current versions; returns { number of keys removed, stamp }.</summary>
    public static readonly RedisScript Delete = new(ResolveStamp + """
        return { redis.call('UNLINK', ARGV[1] .. stamp .. ARGV[2]), stamp }
        """);

    /// <summary>Increments one version key (KEYS[1]), starting it at the clock when missing; returns the new version.</summary>
    public static readonly RedisScript Bump = new("""
        if redis.call('EXISTS', KEYS[1]) == 0 then
          local t = redis.call('TIME')
          redis.call('SET', KEYS[1], t[1] .. string.format('%06d', tonumber(t[2])))
        end
        return redis.call('INCR', KEYS[1])
        """);
}
