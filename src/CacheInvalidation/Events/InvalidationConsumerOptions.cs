namespace CacheInvalidation.Events;

/// <summary>
/// Options of the <see cref="InvalidationConsumer"/>. <see cref="DryRun"/> and <see cref="PauseNamespaceScans"/> are
/// read for every event through <c>IOptionsMonitor</c>, so operations can flip them at run time.
/// </summary>
public sealed class InvalidationConsumerOptions
{
    private readonly Dictionary<string, Func<InvalidationEvent, IEnumerable<InvalidationAction>>> _handlers = new(StringComparer.Ordinal);

    /// <summary>The Redis Stream to read; <c>{KeyPrefix}:events</c> when null.</summary>
    public string? StreamKey { get; set; }

    /// <summary>The consumer group shared by every node of the deployment.</summary>
    public string Group { get; set; } = "cache-invalidation";

    /// <summary>This consumer's name in the group; unique per process.</summary>
    public string ConsumerName { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Entries read per call, in [1, 10,000].</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>
    /// Entries of one batch applied at once, in [1, 256]. Events of the same entity (or, without one, the same event id)
    /// are always applied one after another in stream order, so the entity watermark only moves forward; events of
    /// different entities overlap their Redis round trips. 1 applies the batch strictly in order.
    /// </summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Pause when the stream had nothing new.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Deliveries of one entry before it is dead-lettered.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First back-off after a failed entry; doubles per attempt, at most 5 s.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Entries pending this long with another consumer (a dead one) are claimed (XAUTOCLAIM).</summary>
    public TimeSpan ClaimIdleTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long event ids and entity watermarks are remembered for de-duplication and ordering.</summary>
    public TimeSpan DedupeWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The dead-letter stream; <c>{stream}:dead</c> when null.</summary>
    public string? DeadLetterStreamKey { get; set; }

    /// <summary>Canary mode: log and count what each event would invalidate, delete nothing. Run it in a group of its own.</summary>
    public bool DryRun { get; set; }

    /// <summary>
    /// Pauses expensive handlers: namespace invalidations become O(1) namespace-version bumps instead of scans, so no
    /// invalidation is lost while the scans' load is off; keys, sources and bumps keep running as usual. This is the
    /// kill switch for this consumer alone: the cache's own switch
    /// (<see cref="SmartCacheOptions.SuspendAggressiveInvalidation"/> or
    /// <see cref="ISmartCacheAdministration.SuspendAggressiveInvalidationAsync"/>) does the same for every consumer and
    /// every direct call; either one engaged is enough.
    /// </summary>
    public bool PauseNamespaceScans { get; set; }

    /// <summary>The registered handlers, by event type.</summary>
    public IReadOnlyDictionary<string, Func<InvalidationEvent, IEnumerable<InvalidationAction>>> Handlers => _handlers;

    /// <summary>
    /// Maps an event type to the invalidations it implies (one per projection: detail view, search view, summary cards…),
    /// in addition to the targets the event names itself.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="eventType"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    public InvalidationConsumerOptions Map(string eventType, Func<InvalidationEvent, IEnumerable<InvalidationAction>> handler)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventType);
        ArgumentNullException.ThrowIfNull(handler);
        _handlers[eventType] = handler;
        return this;
    }

    /// <summary>What is wrong with these options, each naming the option; empty when valid.</summary>
    internal IEnumerable<string> Validate()
    {
        const string Name = nameof(InvalidationConsumerOptions);
        if (StreamKey is not null && string.IsNullOrWhiteSpace(StreamKey))
        {
            yield return $"{Name}.{nameof(StreamKey)} must be null (the cache's stream) or a key name.";
        }

        if (string.IsNullOrWhiteSpace(Group))
        {
            yield return $"{Name}.{nameof(Group)} is required.";
        }

        if (string.IsNullOrWhiteSpace(ConsumerName))
        {
            yield return $"{Name}.{nameof(ConsumerName)} is required.";
        }

        if (BatchSize is < 1 or > 10_000)
        {
            yield return $"{Name}.{nameof(BatchSize)} must be in [1, 10,000]; it is {BatchSize}.";
        }

        if (MaxConcurrency is < 1 or > 256)
        {
            yield return $"{Name}.{nameof(MaxConcurrency)} must be in [1, 256]; it is {MaxConcurrency}.";
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            yield return $"{Name}.{nameof(PollInterval)} must be positive; it is {PollInterval}.";
        }

        if (MaxAttempts < 1)
        {
            yield return $"{Name}.{nameof(MaxAttempts)} must be at least 1; it is {MaxAttempts}.";
        }

        if (RetryBackoff < TimeSpan.Zero)
        {
            yield return $"{Name}.{nameof(RetryBackoff)} must not be negative; it is {RetryBackoff}.";
        }

        if (ClaimIdleTime < TimeSpan.FromMilliseconds(1))
        {
            yield return $"{Name}.{nameof(ClaimIdleTime)} must be at least 1 ms; it is {ClaimIdleTime}.";
        }

        if (DedupeWindow < TimeSpan.FromSeconds(1))
        {
            yield return $"{Name}.{nameof(DedupeWindow)} must be at least 1 s; it is {DedupeWindow}.";
        }

        if (DeadLetterStreamKey is not null && string.IsNullOrWhiteSpace(DeadLetterStreamKey))
        {
            yield return $"{Name}.{nameof(DeadLetterStreamKey)} must be null (the stream's :dead) or a key name.";
        }
    }
}
