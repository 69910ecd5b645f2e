using System.Globalization;
using CacheInvalidation.Keys;
using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>
/// The Redis side of the local tier: sharded pub/sub (SSUBSCRIBE, so on a cluster each channel lives on its shard's
/// node), the sequence read (one script per hash slot, pipelined, on the write lane: a soft timeout and the circuit
/// breaker) and the multiplexer's connection failures.
/// </summary>
internal sealed class RedisInvalidationFeed(RedisConnection connection) : IInvalidationFeed
{
    private readonly object _gate = new();
    private readonly List<ChannelMessageQueue> _queues = [];
    private IConnectionMultiplexer? _watched;
    private bool _closed;

    public event Action? ConnectionLost;

    public async Task<IReadOnlyList<string>> SubscribeAsync(IReadOnlyList<string> channels, Action<string, string> onMessage, CancellationToken cancellationToken)
    {
        IConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await connection.GetAsync().ConfigureAwait(false);
        }
        catch (CacheStoreException)
        {
            return channels;
        }

        Watch(multiplexer);
        ISubscriber subscriber = multiplexer.GetSubscriber();
        Task<ChannelMessageQueue>[] subscriptions = channels.Select(channel => RedisCall.Run(static s => s.Subscriber.SubscribeAsync(RedisChannel.Sharded(s.Channel)), (Subscriber: subscriber, Channel: channel), cancellationToken)).ToArray();
        try
        {
            await Task.WhenAll(subscriptions).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CacheStoreException or OperationCanceledException)
        {
            // Each one is looked at below: those that worked are kept, the others are reported.
        }

        var failed = new List<string>();
        var queues = new List<ChannelMessageQueue>();
        for (int i = 0; i < channels.Count; i++)
        {
            if (!subscriptions[i].IsCompletedSuccessfully)
            {
                failed.Add(channels[i]);
                continue;
            }

            // A queue hands its messages over one at a time, in the order the channel delivered them.
            ChannelMessageQueue queue = subscriptions[i].Result;
            string channel = channels[i];
            queue.OnMessage(message => onMessage(channel, message.Message.ToString()));
            queues.Add(queue);
        }

        lock (_gate)
        {
            if (!_closed)
            {
                _queues.AddRange(queues);
                return failed;
            }
        }

        queues.ForEach(Unsubscribe);
        return failed;
    }

    public async Task<long[]> ReadSequencesAsync(IReadOnlyList<string> sequenceKeys, CancellationToken cancellationToken)
    {
        Watch(await connection.GetAsync().ConfigureAwait(false));
        var indexed = sequenceKeys.Select((key, index) => (Key: key, Index: index)).ToArray();
        var groups = await connection.EvaluatePerSlotAsync(
            connection.Resilience.Writes,
            LuaScripts.Sequences,
            indexed,
            static item => item.Key,
            static group => (Array.ConvertAll(group, item => (RedisKey)item.Key), []),
            cancellationToken).ConfigureAwait(false);
        var values = new long[sequenceKeys.Count];
        foreach (((string Key, int Index)[] group, RedisResult result) in groups)
        {
            var read = (string[])result!;
            for (int i = 0; i < group.Length; i++)
            {
                values[group[i].Index] = long.Parse(read[i], NumberStyles.Integer, CultureInfo.InvariantCulture);
            }
        }

        return values;
    }

    public void Listen(IInvalidationListener listener) => connection.Listener = listener;

    public void Close()
    {
        ChannelMessageQueue[] queues;
        lock (_gate)
        {
            _closed = true;
            queues = [.. _queues];
            _queues.Clear();
            if (_watched is not null)
            {
                _watched.ConnectionFailed -= OnConnectionFailed;
            }
        }

        connection.Listener = null;

        foreach (ChannelMessageQueue queue in queues)
        {
            Unsubscribe(queue);
        }
    }

    /// <summary>
    /// Ends a subscription without waiting and without throwing: closing must not block on, or fail because of, a server
    /// or a multiplexer that may already be gone (its subscriptions go with it).
    /// </summary>
    private static void Unsubscribe(ChannelMessageQueue queue)
    {
        try
        {
            _ = queue.UnsubscribeAsync().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
        catch (Exception ex) when (RedisCall.IsStoreFailure(ex))
        {
            // Already gone with its connection.
        }
    }

    private void Watch(IConnectionMultiplexer multiplexer)
    {
        lock (_gate)
        {
            if (_closed || ReferenceEquals(_watched, multiplexer))
            {
                return;
            }

            if (_watched is not null)
            {
                _watched.ConnectionFailed -= OnConnectionFailed;
            }

            _watched = multiplexer;
            multiplexer.ConnectionFailed += OnConnectionFailed;
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => ConnectionLost?.Invoke();
}
