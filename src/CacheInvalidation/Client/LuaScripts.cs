namespace CacheInvalidation.Client;

/// <summary>
/// The scripts behind the store's intents. Every key a script touches is passed in KEYS, built by <c>KeyLayout</c> (the
/// one key schema), and the keys of one call share a hash slot on a cluster; scripts never build key names. Entry scripts
/// take KEYS = the scope's version keys, then the entry, its lease and its shard's invalidation sequence. The only layout rule they share with C# is the
/// stored entry's start: the stamp (versions joined by '.') then <see cref="EntryStamp.Separator"/>.
/// </summary>
internal static partial class LuaScripts
{
    // A missing version starts at the server's clock in microseconds and only grows by INCR from there, so a version that
    // expired, was evicted or was deleted restarts above every value it can have had: no old entry matches a new stamp.
    private const string Versions = """
        local n = #KEYS - 3
        local entry, lease, seq = KEYS[n + 1], KEYS[n + 2], KEYS[n + 3]
        -- The stamp of the scope's current versions. With a ttl (ms), a missing version is created and every version is
        -- kept for at least that long (a load's lease time: its write is not refused for a version that merely expired).
        local function stamp(ttl)
          local parts = {}
          for i = 1, n do
            local v = redis.call('GET', KEYS[i])
            if not v then
              if not ttl then return nil end
              local t = redis.call('TIME')
              v = t[1] .. string.format('%06d', tonumber(t[2]))
              redis.call('SET', KEYS[i], v, 'PX', ttl)
            elseif ttl then
              redis.call('PEXPIRE', KEYS[i], ttl, 'GT')
            end
            parts[i] = v
          end
          return table.concat(parts, '.')
        end

        """;

    /// <summary>
    /// What every invalidating script does last, for the nodes' local tiers: advances the shard's sequence (a counter kept
    /// <see cref="SequenceTtlMs"/> ms, recreated at the server's clock in microseconds — above every value it had — when
    /// missing) and publishes "sequence\nkind\nkey…" on the shard's channel: kind <c>e</c> names entries removed or
    /// replaced, <c>v</c> a version bumped. The sequence is what nodes confirm against, so a message that never arrives (no
    /// subscriber, a dropped connection, a server without sharded pub/sub: the publish is allowed to fail) is still noticed.
    /// </summary>
    private static readonly string Notify = $$"""
        local function notify(seq, channel, message)
          if redis.call('EXISTS', seq) == 1 then
            redis.call('INCR', seq)
          else
            local t = redis.call('TIME')
            redis.call('SET', seq, t[1] .. string.format('%06d', tonumber(t[2])), 'PX', {{SequenceTtlMs}})
          end
          pcall(redis.call, 'SPUBLISH', channel, redis.call('GET', seq) .. '\n' .. message)
        end

        """;

    /// <summary>How long a shard's invalidation sequence lives without an invalidation or a node's confirmation (a day).</summary>
    internal const long SequenceTtlMs = 86_400_000;

    /// <summary>
    /// The miss path. ARGV: lease ms, a new lease token, mode — <c>read</c>: return the entry if it holds the current
    /// stamp, else take the lease if it is free; <c>take</c>: take the lease if it is free (a refresh); <c>force</c>: take
    /// it whoever holds it (a direct set, which voids every other load). Missing versions are created, and every version
    /// is kept, for at least the lease time (a write extends them to the entry's). Returns { stamp, entry } on a hit, { stamp, false, token } when the lease was
    /// taken, { stamp, false, '' } when another caller holds it.
    /// </summary>
    public static readonly RedisScript Lease = new(Versions + $$"""
        local ms = tonumber(ARGV[1])
        local current = stamp(ms)
        if ARGV[3] == 'read' then
          local head = current .. '{{EntryStamp.Separator}}'
          if redis.call('GETRANGE', entry, 0, #head - 1) == head then return { current, redis.call('GET', entry) } end
        end
        if ARGV[3] ~= 'force' and redis.call('EXISTS', lease) == 1 then return { current, false, '' } end
        redis.call('SET', lease, ARGV[2], 'PX', ms)
        return { current, false, ARGV[2] }
        """);

    /// <summary>
    /// Writes the entry (ARGV[4], which starts with stamp ARGV[1]) with a TTL of ARGV[3] ms (empty: none) only if the
    /// lease still holds token ARGV[2] — every invalidation of the entry deletes it — and the versions still make stamp
    /// ARGV[1] — every version bump changes it; a missing version refuses the write and creates nothing. The lease is
    /// released when held. The versions' TTLs are raised to the entry's, so a version never expires before what was
    /// written under it. With ARGV[5] (a direct set's), the shard's channel ARGV[5] is notified that the entry was replaced.
    /// Returns 1 when written, 0 when refused.
    /// </summary>
    public static readonly RedisScript Write = new(Versions + Notify + """
        if redis.call('GET', lease) ~= ARGV[2] then return 0 end
        redis.call('DEL', lease)
        if stamp(nil) ~= ARGV[1] then return 0 end
        if ARGV[3] == '' then
          redis.call('SET', entry, ARGV[4])
          for i = 1, n do redis.call('PERSIST', KEYS[i]) end
        else
          redis.call('SET', entry, ARGV[4], 'PX', ARGV[3])
          for i = 1, n do redis.call('PEXPIRE', KEYS[i], ARGV[3], 'GT') end
        end
        if ARGV[5] then notify(seq, ARGV[5], 'e\n' .. entry) end
        return 1
        """);

    /// <summary>
    /// A direct set with nothing to register first, in one step: voids the lease (a load in flight can no longer write),
    /// then writes payload ARGV[3] under the current stamp (creating a missing version, kept at least ARGV[1] ms) with a
    /// TTL of ARGV[2] ms (empty: none), raising the versions' TTLs as <see cref="Write"/> does, and notifies the shard's
    /// channel ARGV[4] that the entry was replaced. Returns 1.
    /// </summary>
    public static readonly RedisScript Set = new(Versions + Notify + $$"""
        local current = stamp(tonumber(ARGV[1]))
        redis.call('DEL', lease)
        local value = current .. '{{EntryStamp.Separator}}' .. ARGV[3]
        if ARGV[2] == '' then
          redis.call('SET', entry, value)
          for i = 1, n do redis.call('PERSIST', KEYS[i]) end
        else
          redis.call('SET', entry, value, 'PX', ARGV[2])
          for i = 1, n do redis.call('PEXPIRE', KEYS[i], ARGV[2], 'GT') end
        end
        notify(seq, ARGV[4], 'e\n' .. entry)
        return 1
        """);

    /// <summary>
    /// Keeps a slow load's lease: if it still holds token ARGV[1], sets its TTL to ARGV[2] ms and raises the versions' TTLs
    /// to at least that. Returns 1, or 0 when the lease was voided (the load's write will be refused).
    /// </summary>
    public static readonly RedisScript Extend = new(Versions + """
        if redis.call('GET', lease) ~= ARGV[1] then return 0 end
        redis.call('PEXPIRE', lease, ARGV[2])
        for i = 1, n do redis.call('PEXPIRE', KEYS[i], ARGV[2], 'GT') end
        return 1
        """);

    /// <summary>Gives the lease (KEYS[1]) back if it still holds token ARGV[1] (the owner failed or will not write).</summary>
    public static readonly RedisScript Release = new("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        return 1
        """);

    /// <summary>
    /// Deletes entries and voids their leases, shard by shard (all keys of one call in one hash slot): for each shard, KEYS
    /// holds its sequence then pairs (entry, lease), and ARGV its channel then how many pairs follow. Each shard's channel is
    /// notified of every entry named (an entry Redis no longer holds may still be in a node's memory). Returns how many
    /// entries existed. Key invalidation, dependency drains and corrupt entries use it.
    /// </summary>
    public static readonly RedisScript DeleteEntries = new(Notify + """
        local removed, k = 0, 1
        for g = 1, #ARGV, 2 do
          local seq, names = KEYS[k], {}
          k = k + 1
          for i = 1, tonumber(ARGV[g + 1]) do
            redis.call('DEL', KEYS[k + 1])
            removed = removed + redis.call('UNLINK', KEYS[k])
            names[i] = KEYS[k]
            k = k + 2
          end
          notify(seq, ARGV[g], 'e\n' .. table.concat(names, '\n'))
        end
        return removed
        """);

    /// <summary>Unlinks KEYS (one hash slot on a cluster), one call per key, so no batch size hits Lua's stack limit. Returns how many existed.</summary>
    public static readonly RedisScript Unlink = new("""
        local removed = 0
        for i = 1, #KEYS do removed = removed + redis.call('UNLINK', KEYS[i]) end
        return removed
        """);

    /// <summary>
    /// Increments a version (KEYS[1]) that exists and notifies the shard (sequence KEYS[2], channel ARGV[1]) either way: a
    /// node may still hold entries read under a version Redis has since evicted. Returns the new version, or 0 when it is
    /// missing (nothing can be read under it in Redis: the next read creates it above every earlier value).
    /// </summary>
    public static readonly RedisScript Bump = new(Notify + """
        local version = 0
        if redis.call('EXISTS', KEYS[1]) == 1 then version = redis.call('INCR', KEYS[1]) end
        notify(KEYS[2], ARGV[1], 'v\n' .. KEYS[1])
        return version
        """);

    /// <summary>
    /// A node's confirmation read: the current invalidation sequence of each shard (KEYS, one hash slot), creating a
    /// missing one at the server's clock in microseconds, and keeping each for <see cref="SequenceTtlMs"/> ms more.
    /// </summary>
    public static readonly RedisScript Sequences = new($$"""
        local values = {}
        for i = 1, #KEYS do
          local v = redis.call('GET', KEYS[i])
          if v then
            redis.call('PEXPIRE', KEYS[i], {{SequenceTtlMs}})
          else
            local t = redis.call('TIME')
            v = t[1] .. string.format('%06d', tonumber(t[2]))
            redis.call('SET', KEYS[i], v, 'PX', {{SequenceTtlMs}})
          end
          values[i] = v
        end
        return values
        """);

    /// <summary>
    /// Registers an entry (ARGV[1]) in a source's index (KEYS[1]) under the token of the load that will write it (ARGV[2])
    /// and keeps the index's TTL at least ARGV[3] ms. It runs before the value is computed, so an invalidation of the
    /// source from then on finds the entry and voids that load's lease.
    /// </summary>
    public static readonly RedisScript Register = new("""
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        if redis.call('PTTL', KEYS[1]) < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[3])
        else
          redis.call('PEXPIRE', KEYS[1], ARGV[3], 'GT')
        end
        return 1
        """);

    /// <summary>
    /// Voids a source's index: renames it (KEYS[1]) to a new snapshot (KEYS[3]) — one atomic step, after which every new
    /// registration goes to a fresh index — and lists the snapshot in the source's drain list (KEYS[2]). Returns every
    /// snapshot still listed: those of concurrent or interrupted invalidations are drained too.
    /// </summary>
    public static readonly RedisScript Snapshot = new("""
        if redis.call('EXISTS', KEYS[1]) == 1 then
          local ttl = redis.call('PTTL', KEYS[1])
          redis.call('RENAME', KEYS[1], KEYS[3])
          redis.call('SADD', KEYS[2], KEYS[3])
          if ttl > 0 then
            if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ttl) else redis.call('PEXPIRE', KEYS[2], ttl, 'GT') end
          end
        end
        return redis.call('SMEMBERS', KEYS[2])
        """);

    /// <summary>
    /// One step of draining a snapshot (KEYS[1], listed in KEYS[2]): removes the members ARGV[2..] (whose entries the caller
    /// has deleted), then returns up to ARGV[1] members still in it; when none is left the snapshot leaves the drain list.
    /// Members leave a snapshot only after their entries are gone, so an interrupted drain loses nothing.
    /// </summary>
    public static readonly RedisScript DrainStep = new("""
        for i = 2, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
        local next = redis.call('HRANDFIELD', KEYS[1], tonumber(ARGV[1]))
        if #next == 0 then redis.call('SREM', KEYS[2], KEYS[1]) end
        return next
        """);

    /// <summary>
    /// One pruning step over a live index (KEYS[1]): removes the members ARGV[3..] given as (member, token) pairs if they
    /// still hold that token — a member registered again since is kept — then returns { next cursor, page of HSCAN from
    /// cursor ARGV[1] (none when empty) with COUNT ARGV[2] as member, token, …, members removed }.
    /// </summary>
    public static readonly RedisScript PruneStep = new("""
        local removed = 0
        for i = 3, #ARGV, 2 do
          if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then removed = removed + redis.call('HDEL', KEYS[1], ARGV[i]) end
        end
        if ARGV[1] == '' then return { '0', {}, removed } end
        local page = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', tonumber(ARGV[2]))
        return { page[1], page[2], removed }
        """);

    /// <summary>Records layout ARGV[1] in KEYS[1] unless one is recorded already; returns the recorded one.</summary>
    public static readonly RedisScript ClaimLayout = new("""
        redis.call('SET', KEYS[1], ARGV[1], 'NX')
        return redis.call('GET', KEYS[1])
        """);
}
