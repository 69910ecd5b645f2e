namespace CacheInvalidation.Client;

/// <summary>The script of orphan control (see <c>OrphanCleanupStrategy</c>).</summary>
internal static partial class LuaScripts
{
    // No announcement (sequence + SPUBLISH) here, unlike every invalidating script: this script only removes an entry
    // that is already unreadable — its versions were bumped (and that bump announced it, so a node holding a copy read
    // under the old versions voided it then) or are gone (a read misses in Redis whether the entry is there or not). It
    // never removes a current entry, so removing an orphan changes no answer a read can get, from Redis or from a node's
    // memory: it only frees memory. Announcing it would flush the nodes' scopes for nothing.

    /// <summary>
    /// Checks entries for orphans — entries whose stamp is not their scope's current versions, or one of whose versions is
    /// missing (it restarts above every value it had): unreadable forever, only waiting for their TTL — and, when ARGV[1]
    /// is a number, unlinks the orphans whose PTTL is above it (ms) or who have no TTL. The check and the unlink are one
    /// atomic step per entry, so an entry written under the current versions in between is seen as current and kept.
    /// KEYS: for each entry, its scope's version keys then the entry (one hash slot); ARGV[2..]: how many version keys each
    /// entry has. Reads only the stamp (GETRANGE), never the value; creates nothing; touches no lease. Returns, per entry,
    /// status (0 current, 1 orphan kept, 2 orphan removed, 3 gone) and PTTL.
    /// </summary>
    public static readonly RedisScript Orphans = new($$"""
        local above = nil
        if ARGV[1] ~= '' then above = tonumber(ARGV[1]) end
        local out, k = {}, 1
        for e = 2, #ARGV do
          local n = tonumber(ARGV[e])
          local entry = KEYS[k + n]
          local ttl = redis.call('PTTL', entry)
          local status = 3
          if ttl ~= -2 then
            local parts = {}
            for i = 1, n do
              local v = redis.call('GET', KEYS[k + i - 1])
              if not v then parts = nil break end
              parts[i] = v
            end
            status = 1
            if parts then
              local head = table.concat(parts, '.') .. '{{EntryStamp.Separator}}'
              if redis.call('GETRANGE', entry, 0, #head - 1) == head then status = 0 end
            end
            if status == 1 and above and (ttl == -1 or ttl > above) then
              redis.call('UNLINK', entry)
              status = 2
            end
          end
          out[#out + 1] = status
          out[#out + 1] = ttl
          k = k + n + 1
        end
        return out
        """);
}
