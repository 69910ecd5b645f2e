using CacheInvalidation.Client;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>The invalidation feed with messages lost on purpose: each is dropped with probability <see cref="DropRate"/>.</summary>
internal sealed class DroppingFeed(IInvalidationFeed inner, int seed) : IInvalidationFeed
{
    private readonly Random _random = new(seed);
    private long _dropped;

    public event Action? ConnectionLost
    {
        add => inner.ConnectionLost += value;
        remove => inner.ConnectionLost -= value;
    }

    /// <summary>0: none dropped; 1: every message dropped.</summary>
    public double DropRate { get; set; } = 1;

    public long Dropped => Interlocked.Read(ref _dropped);

    public Task<IReadOnlyList<string>> SubscribeAsync(IReadOnlyList<string> channels, Action<string, string> onMessage, CancellationToken cancellationToken) =>
        inner.SubscribeAsync(channels, (channel, message) =>
        {
            bool drop;
            lock (_random)
            {
                drop = _random.NextDouble() < DropRate;
            }

            if (drop)
            {
                Interlocked.Increment(ref _dropped);
                return;
            }

            onMessage(channel, message);
        }, cancellationToken);

    public Task<long[]> ReadSequencesAsync(IReadOnlyList<string> sequenceKeys, CancellationToken cancellationToken) =>
        inner.ReadSequencesAsync(sequenceKeys, cancellationToken);

    public void Listen(IInvalidationListener listener) => inner.Listen(listener);

    public void Close() => inner.Close();
}
