namespace CacheInvalidation.Client;

/// <summary>
/// The scripts behind the store's intents. Each one touches only keys of one version scope, which all share a hash tag
/// (see <c>KeyLayout</c>): KEYS are the scope's version keys; the entry key is built inside the script from ARGV[1] (the
/// key up to the version stamp), the resolved stamp and ARGV[2] (the id suffix), and the key's lease from the same
/// parts (<c>{tag}:namespace:id#l</c>, not versioned) — so the hit path is one round trip and every script stays inside
/// one hash slot.
/// </summary>
internal static class LuaScripts
{
    // A missing version or lease counter starts at the server's clock in microseconds. It only ever grows by INCR from
    // there, so a key that was evicted or lost restarts above every value it can have had before (no call rate reaches
    // one increment per microsecond): old entries never become readable again and old lease tokens never match again.
    private const string Functions = """
        local function clockStart(key)
          local t = redis.call('TIME')
          redis.call('SET', key, t[1] .. string.format('%06d', tonumber(t[2])))
        end
        local function version(key)
          local v = redis.call('GET', key)
          if not v then
            clockStart(key)
            v = redis.call('GET', key)
          end
          return v
        end
        local function resolveStamp()
          local stamp = version(KEYS[1])
          for i = 2, #KEYS do stamp = stamp .. '.' .. version(KEYS[i]) end
          return stamp
        end
        local function entryKey(stamp) return ARGV[1] .. stamp .. ARGV[2] end
        local function leaseKey() return string.sub(ARGV[1], 1, -2) .. string.sub(ARGV[2], 2) .. '#l' end
        -- Takes the key's lease for ms milliseconds if it is free: returns the token, or false and the lease's remaining ms.
        local function acquire(ms)
          if ms <= 0 then return false, 0 end
          local lease = leaseKey()
          if redis.call('EXISTS', lease) == 1 then return false, redis.call('PTTL', lease) end
          local counter = string.sub(KEYS[1], 1, -2) .. 'lease'
          if redis.call('EXISTS', counter) == 0 then clockStart(counter) end
          local token = redis.call('INCR', counter)
          redis.call('SET', lease, token, 'PX', ms)
          return token, 0
        end

        """;

    /// <summary>
    /// Reads the entry under the resolved versions; ARGV[3] is the lease time in ms (0: take no lease). Returns
    /// { stamp, value } on a hit and { stamp, false, lease token or '', ms the current lease has left } on a miss. The
    /// stamp lets the next hits skip the script (see <c>RedisCacheStore.ReadAsync</c>).
    /// </summary>
    public static readonly RedisScript Read = new(Functions + """
        local stamp = resolveStamp()
        local value = redis.call('GET', entryKey(stamp))
        if value then return { stamp, value } end
        local token, wait = acquire(tonumber(ARGV[3]))
        return { stamp, false, token or '', wait }
        """);

    /// <summary>Takes the key's lease without reading (to refresh a stale entry): returns { stamp, token or '', ms left }.</summary>
    public static readonly RedisScript Lease = new(Functions + """
        local stamp = resolveStamp()
        local token, wait = acquire(tonumber(ARGV[3]))
        return { stamp, token or '', wait }
        """);

    /// <summary>
    /// Writes the entry (ARGV[5]) with a TTL in ms (ARGV[4], empty for none) — only if the versions still resolve to the
    /// stamp the value was computed under (ARGV[3], empty: current) and, when a lease token is given (ARGV[6]), only if the
    /// lease still holds that token: any invalidation since deleted it. A write without a token is a direct set, which
    /// voids every outstanding lease. The lease is released either way. Returns 1 when written, 0 when refused.
    /// </summary>
    public static readonly RedisScript Write = new(Functions + """
        local stamp = resolveStamp()
        local lease = leaseKey()
        local owner = ARGV[6] == '' or redis.call('GET', lease) == ARGV[6]
        if not owner then return 0 end
        redis.call('DEL', lease)
        if ARGV[3] ~= '' and ARGV[3] ~= stamp then return 0 end
        if ARGV[4] == '' then
          redis.call('SET', entryKey(stamp), ARGV[5])
        else
          redis.call('SET', entryKey(stamp), ARGV[5], 'PX', ARGV[4])
        end
        return 1
        """);

    /// <summary>Gives the lease back if it still holds token ARGV[3] (the owner failed or is done).</summary>
    public static readonly RedisScript Release = new(Functions + """
        local lease = leaseKey()
        if redis.call('GET', lease) == ARGV[3] then redis.call('DEL', lease) end
        return 1
        """);

    /// <summary>
    /// Deletes the entry under the current versions and voids its lease, so a value being computed from the old source
    /// can no longer be written. Returns { number of entries removed, stamp }.
    /// </summary>
    public static readonly RedisScript Delete = new(Functions + """
        local stamp = resolveStamp()
        redis.call('DEL', leaseKey())
        return { redis.call('UNLINK', entryKey(stamp)), stamp }
        """);

    /// <summary>
    /// Adds a dependent entry key (ARGV[1]) to a source's reverse index (KEYS[1]) and keeps the index's TTL at least
    /// ARGV[2] ms (the dependent's lifetime plus the lease time): the index never outlives nor undercuts its members.
    /// It runs before the dependent's value is computed, so an invalidation of the source from then on finds it.
    /// </summary>
    public static readonly RedisScript RegisterDependent = new("""
        redis.call('SADD', KEYS[1], ARGV[1])
        if redis.call('PTTL', KEYS[1]) < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
        else
          redis.call('PEXPIRE', KEYS[1], ARGV[2], 'GT')
        end
        return 1
        """);

    // An index member is an entry key "{tag}:ns:v<stamp>:<id>"; its lease is "{tag}:ns:<id>#l" (same slot).
    private const string MemberLease = """
        local function leaseOf(member)
          local head, id = string.match(member, '^(.*):v[^:]*:([^:]*)$')
          if head then return head .. ':' .. id .. '#l' end
          return nil
        end
        local function deleteMembers(members)
          local removed = 0
          for _, member in ipairs(members) do
            removed = removed + redis.call('UNLINK', member)
            local lease = leaseOf(member)
            if lease then redis.call('DEL', lease) end
          end
          return removed
        end

        """;

    /// <summary>
    /// Removes up to ARGV[1] dependents of a source (KEYS[1]): pops them from the index and, in the same script, unlinks
    /// each entry and voids its lease — a member is never dropped from the index without its entry. Returns
    /// { popped, entries removed, members left }. Standalone servers only: the members live in other hash slots.
    /// </summary>
    public static readonly RedisScript InvalidateSourceBatch = new(MemberLease + """
        local members = redis.call('SPOP', KEYS[1], tonumber(ARGV[1]))
        local removed = deleteMembers(members)
        return { #members, removed, redis.call('SCARD', KEYS[1]) }
        """);

    /// <summary>
    /// Unlinks the given entries (KEYS, all in one hash slot) and deletes their leases; returns how many entries existed.
    /// The cluster form of a source batch: members are grouped by slot and sent to their nodes.
    /// </summary>
    public static readonly RedisScript DeleteMembers = new(MemberLease + """
        return deleteMembers(KEYS)
        """);

    /// <summary>
    /// One SSCAN step (cursor ARGV[1], COUNT ARGV[2]) over a source index (KEYS[1]), removing members whose entry and
    /// lease are both gone (expired or evicted). Returns { next cursor, pruned }.
    /// </summary>
    public static readonly RedisScript PruneSourceIndex = new(MemberLease + """
        local page = redis.call('SSCAN', KEYS[1], ARGV[1], 'COUNT', tonumber(ARGV[2]))
        local pruned = 0
        for _, member in ipairs(page[2]) do
          local lease = leaseOf(member)
          if redis.call('EXISTS', member) == 0 and (not lease or redis.call('EXISTS', lease) == 0) then
            pruned = pruned + redis.call('SREM', KEYS[1], member)
          end
        end
        return { page[1], pruned }
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
