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

    public string StreamKey { get; } = streamKey;

    public async Task<string> PublishAsync(string eventId, string json, int maxLength)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        RedisValue id = await Run(database.StreamAddAsync(
            StreamKey,
            [new NameValueEntry("id", eventId), new NameValueEntry("event", json)],
            maxLength: maxLength,
            useApproximateMaxLength: true)).ConfigureAwait(false);
        return id.ToString();
    }

    public async Task EnsureGroupAsync(string group)
    {
        IDatabase database = await DatabaseAsync().ConfigureAwait(false);
        try
        {
            await database.StreamCreateConsumerGroupAsync(StreamKey, group, StreamPosition.Beginning, createStream: true).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // The group exists already: every consumer of the deployment shares it.
        }
        catch (Exception ex) when (RedisCall.IsStoreFailure(ex))
        {
            throw new CacheStoreException("Creating the consumer group failed: " + ex.Message, ex);
        }
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
