using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>One entry read from the event stream: its stream id, the event JSON (null when missing) and how often it was delivered.</summary>
internal readonly record struct StreamEvent(string StreamId, string? Json, string? EventId);

/// <summary>The Redis Stream behind event-driven invalidation: publish, consumer-group reads, acks, claims, dead letters, and the idempotency/ordering marks.</summary>
internal sealed class RedisEventStream(RedisConnection connection, string streamKey)
{
    // Marks of one event live under its entity's hash tag, so the check and the mark are single-slot scripts.
    private static readonly RedisScript Begin = new("""
        if redis.call('EXISTS', KEYS[1]) == 1 then return 'duplicate' end
        if #KEYS > 1 then
          local watermark = redis.call('GET', KEYS[2])
          if watermark and tonumber(ARGV[1]) < tonumber(watermark) then return 'out-of-order' end
        end
        return 'apply'
        """);

    private static readonly RedisScript Complete = new("""
        redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
        if #KEYS > 1 then
          local watermark = redis.call('GET', KEYS[2])
          if not watermark or tonumber(ARGV[1]) > tonumber(watermark) then
            redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
          else
            redis.call('PEXPIRE', KEYS[2], ARGV[2])
          end
        end
        return 1
        """);

    // Stream ids compared in Lua: "ms-seq" as two numbers (ms fits a double exactly).
    private const string StreamIds = """
        local function parse(id) local ms, seq = string.match(id, '^(%d+)-(%d+)$'); return tonumber(ms), tonumber(seq) end
        local function before(a, b)
          local am, as = parse(a)
          local bm, bs = parse(b)
          return am < bm or (am == bm and as < bs)
        end
        local function fields(list) local t = {} for i = 1, #list, 2 do t[list[i]] = list[i + 1] end return t end

        """;

    // Removes what every group has acknowledged, and nothing else: entries older than each group's oldest pending entry
    // and last delivered one. Atomic, so a group created meanwhile cannot lose history. No group: nothing is removed.
    private static readonly RedisScript TrimAcknowledged = new(StreamIds + """
        local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
        if #groups == 0 then return 0 end
        local floor = nil
        for _, raw in ipairs(groups) do
          local g = fields(raw)
          local point = g['last-delivered-id']
          if tonumber(g['pending']) > 0 then
            local oldest = redis.call('XPENDING', KEYS[1], g['name'])[2]
            if before(oldest, point) then point = oldest end
          end
          if not floor or before(point, floor) then floor = point end
        end
        return redis.call('XTRIM', KEYS[1], 'MINID', floor)
        """);

    // A gap: entries the group had not read yet were trimmed away (by someone else's MAXLEN, say). The group's lag —
    // entries added minus entries it read, a counter Redis keeps however the stream is trimmed — then exceeds what is
    // left. (Unknown lag, after an XDEL inside the unread range: not detected.) Returns the group's corrected read
    // counter then (to record once the loss is dealt with), else false.
    private static readonly RedisScript FindGap = new(StreamIds + """
        local stream = fields(redis.call('XINFO', 'STREAM', KEYS[1]))
        local length = tonumber(stream['length'])
        for _, raw in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
          local g = fields(raw)
          if g['name'] == ARGV[1] and g['lag'] and tonumber(g['lag']) > length then
            return tonumber(stream['entries-added']) - length
          end
        end
        return false
        """);

    // Creates the group at the start of the stream, counting the entries trimmed before it existed as read (they are not
    // its loss). Returns 1 when created, 0 when it existed.
    private static readonly RedisScript CreateGroup = new(StreamIds + """
        local created = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
        if type(created) == 'table' and created.err then
          if string.sub(created.err, 1, 9) == 'BUSYGROUP' then return 0 end
          return redis.error_reply(created.err)
        end
        local stream = fields(redis.call('XINFO', 'STREAM', KEYS[1]))
        redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], '0', 'ENTRIESREAD', tonumber(stream['entries-added']) - tonumber(stream['length']))
        return 1
        """);

    // Records that the group has dealt with the entries it lost: its read counter then counts them as read.
    private static readonly RedisScript SkipGap = new(StreamIds + """
        for _, raw in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
          local g = fields(raw)
          if g['name'] == ARGV[1] then
            return redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], g['last-delivered-id'], 'ENTRIESREAD', ARGV[2])
          end
        end
        return false
        """);

    public string StreamKey { get; } = streamKey;

    /// <summary>Appends an event. The stream is never capped here: only what every group acknowledged is trimmed (<see cref="TrimAcknowledgedAsync"/>).</summary>
    public async Task<string> PublishAsync(string eventId, string json)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        RedisValue id = await Run(database.StreamAddAsync(StreamKey, [new NameValueEntry("id", eventId), new NameValueEntry("event", json)])).ConfigureAwait(false);
        return id.ToString();
    }

    /// <summary>The channel the relay announces published batches on: sharded, in the stream's slot.</summary>
    public RedisChannel AnnouncementChannel => RedisChannel.Sharded(StreamKey + ":published");

    /// <summary>Tells subscribed consumers that entries were appended. Best effort: a consumer that misses it polls.</summary>
    public async Task AnnounceAsync()
    {
        try
        {
            IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
            await multiplexer.GetSubscriber().PublishAsync(AnnouncementChannel, "1").ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisCall.IsStoreFailure(ex))
        {
            // The entries are in the stream; the consumers' next poll reads them.
        }
    }

    /// <summary>Calls <paramref name="onAnnounced"/> for each announcement until the returned subscription is disposed.</summary>
    /// <exception cref="CacheStoreException">Redis refused or failed the subscription.</exception>
    public async Task<IAsyncDisposable> SubscribeAnnouncementsAsync(Action onAnnounced)
    {
        Action<RedisChannel, RedisValue> handler = (_, _) => onAnnounced();
        ISubscriber subscriber;
        try
        {
            // Connecting is inside: an unreachable server throws RedisConnectionException there, not at the subscription.
            subscriber = (await connection.GetAsync().ConfigureAwait(false)).GetSubscriber();
            await subscriber.SubscribeAsync(AnnouncementChannel, handler).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisCall.IsStoreFailure(ex))
        {
            throw new CacheStoreException("Subscribing to the relay's announcements failed: " + ex.Message, ex);
        }

        return new Subscription(subscriber, AnnouncementChannel, handler);
    }

    private sealed class Subscription(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await subscriber.UnsubscribeAsync(channel, handler).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisCall.IsStoreFailure(ex))
            {
                // The connection is gone, and the subscription with it.
            }
        }
    }

    /// <summary>Trims the entries every consumer group has acknowledged; returns how many were removed.</summary>
    public async Task<long> TrimAcknowledgedAsync()
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        return (long)await Run(TrimAcknowledged.EvaluateAsync(database, [StreamKey], [])).ConfigureAwait(false);
    }

    /// <summary>When entries <paramref name="group"/> had not read were trimmed away: its corrected read counter; else null.</summary>
    public async Task<long?> FindGapAsync(string group)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        RedisResult result = await Run(FindGap.EvaluateAsync(database, [StreamKey], [group])).ConfigureAwait(false);
        return result.IsNull ? null : (long)result;
    }

    /// <summary>Records that <paramref name="group"/> dealt with the entries it lost, so the gap is not reported again.</summary>
    public async Task SkipGapAsync(string group, long entriesRead)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        await Run(SkipGap.EvaluateAsync(database, [StreamKey], [group, entriesRead])).ConfigureAwait(false);
    }

    /// <summary>Whether the store failed because the consumer group (or the stream) no longer exists, as after a restart that lost data.</summary>
    public static bool IsMissingGroup(Exception exception) =>
        exception is CacheStoreException { InnerException: RedisServerException inner } && inner.Message.StartsWith("NOGROUP", StringComparison.Ordinal);

    public async Task EnsureGroupAsync(string group)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        await Run(CreateGroup.EvaluateAsync(database, [StreamKey], [group])).ConfigureAwait(false);
    }

    /// <summary>Reads this consumer's own pending entries (retries) when <paramref name="pending"/>, else new ones.</summary>
    public async Task<StreamEvent[]> ReadAsync(string group, string consumer, int count, bool pending)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        StreamEntry[] entries = await Run(database.StreamReadGroupAsync(StreamKey, group, consumer, pending ? StreamPosition.Beginning : StreamPosition.NewMessages, count)).ConfigureAwait(false);
        return Array.ConvertAll(entries, ToEvent);
    }

    /// <summary>Takes over entries left pending by other consumers for longer than <paramref name="minIdle"/> (a dead consumer's).</summary>
    public async Task<StreamEvent[]> ClaimAbandonedAsync(string group, string consumer, TimeSpan minIdle, int count)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        StreamAutoClaimResult result = await Run(database.StreamAutoClaimAsync(StreamKey, group, consumer, (long)minIdle.TotalMilliseconds, "0-0", count)).ConfigureAwait(false);
        return Array.ConvertAll(result.ClaimedEntries, ToEvent);
    }

    public async Task AcknowledgeAsync(string group, string streamId)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        await Run(database.StreamAcknowledgeAsync(StreamKey, group, streamId)).ConfigureAwait(false);
    }

    public async Task<long> DeliveryCountAsync(string group, string streamId)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        StreamPendingMessageInfo[] info = await Run(database.StreamPendingMessagesAsync(StreamKey, group, 1, RedisValue.Null, streamId, streamId)).ConfigureAwait(false);
        return info.Length == 0 ? 0 : info[0].DeliveryCount;
    }

    public async Task<long> PendingCountAsync(string group)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        StreamPendingInfo info = await Run(database.StreamPendingAsync(StreamKey, group)).ConfigureAwait(false);
        return info.PendingMessageCount;
    }

    /// <summary>
    /// How far <paramref name="group"/> is behind: entries not yet delivered to it (Redis 7's XINFO GROUPS lag; null when
    /// the server cannot tell), delivered but unacknowledged, and the length of <paramref name="deadLetterKey"/>.
    /// </summary>
    public async Task<(long? Lag, long Pending, long DeadLetters)> BacklogAsync(string group, string deadLetterKey)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        Task<StreamGroupInfo[]> groups = database.StreamGroupInfoAsync(StreamKey);
        Task<long> deadLetters = database.StreamLengthAsync(deadLetterKey);
        StreamGroupInfo? info = null;
        foreach (StreamGroupInfo candidate in await Run(groups).ConfigureAwait(false))
        {
            if (candidate.Name == group)
            {
                info = candidate;
            }
        }

        return (info?.Lag, info?.PendingMessageCount ?? 0, await Run(deadLetters).ConfigureAwait(false));
    }

    public async Task DeadLetterAsync(string deadLetterKey, StreamEvent entry, string reason, int maxLength)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        await Run(database.StreamAddAsync(
            deadLetterKey,
            [new NameValueEntry("streamId", entry.StreamId), new NameValueEntry("event", entry.Json ?? string.Empty), new NameValueEntry("reason", reason)],
            maxLength: maxLength,
            useApproximateMaxLength: true)).ConfigureAwait(false);
    }

    /// <summary>"apply", "duplicate" or "out-of-order" for an event, from its done-mark and its entity's watermark.</summary>
    public async Task<string> BeginAsync(string[] markKeys, long entityVersion)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        RedisResult result = await Run(Begin.EvaluateAsync(database, Array.ConvertAll(markKeys, k => (RedisKey)k), [entityVersion])).ConfigureAwait(false);
        return (string)result!;
    }

    public async Task CompleteAsync(string[] markKeys, long entityVersion, TimeSpan window)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        await Run(Complete.EvaluateAsync(database, Array.ConvertAll(markKeys, k => (RedisKey)k), [entityVersion, (long)window.TotalMilliseconds])).ConfigureAwait(false);
    }

    private static StreamEvent ToEvent(StreamEntry entry)
    {
        RedisValue json = entry["event"];
        RedisValue id = entry["id"];
        return new StreamEvent(entry.Id.ToString(), json.IsNull ? null : json.ToString(), id.IsNull ? null : id.ToString());
    }

    private static async Task<T> Run<T>(Task<T> operation)
    {
        try
        {
            return await operation.ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisCall.IsStoreFailure(ex))
        {
            throw new CacheStoreException("Redis stream operation failed: " + ex.Message, ex);
        }
    }

    private async ValueTask<IDatabase> DatabaseAsync() => (await connection.GetAsync().ConfigureAwait(false)).GetDatabase();
}
