namespace CacheInvalidation.Client;

/// <summary>
/// How a node's local tier hears about invalidations: the shards' channels (fast, may lose messages), the shards'
/// sequences (read to confirm that nothing was lost) and the connection's failures (after which nothing heard before can
/// be trusted).
/// </summary>
internal interface IInvalidationFeed
{
    /// <summary>Raised when a connection to Redis failed: messages may have been lost and the server may have restarted.</summary>
    event Action? ConnectionLost;

    /// <summary>
    /// Subscribes to <paramref name="channels"/>, each on its own; <paramref name="onMessage"/> gets (channel, message) in
    /// the order each channel delivers them. Returns the channels that could not be subscribed (to try again later).
    /// </summary>
    Task<IReadOnlyList<string>> SubscribeAsync(IReadOnlyList<string> channels, Action<string, string> onMessage, CancellationToken cancellationToken);

    /// <summary>The current value of each sequence (created when missing), in order; throws <see cref="CacheStoreException"/>.</summary>
    Task<long[]> ReadSequencesAsync(IReadOnlyList<string> sequenceKeys, CancellationToken cancellationToken);

    /// <summary>Has this node's own invalidations reported to <paramref name="listener"/> as soon as they ran (or failed).</summary>
    void Listen(IInvalidationListener listener);

    /// <summary>Ends the subscriptions and stops reporting.</summary>
    void Close();
}

/// <summary>Told, by the stores, about the invalidations this node itself ran (whether Redis confirmed them or not).</summary>
internal interface IInvalidationListener
{
    /// <summary>Entries were deleted or replaced.</summary>
    void EntriesRemoved(IReadOnlyList<string> entryKeys);

    /// <summary>Versions were bumped.</summary>
    void VersionsBumped(IReadOnlyList<string> versionKeys);
}
