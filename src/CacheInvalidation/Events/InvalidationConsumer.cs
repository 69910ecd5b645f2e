using System.Diagnostics;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CacheInvalidation.Events;

/// <summary>
/// Applies invalidation events from the Redis Stream as a member of a consumer group: acknowledges an entry only after
/// its invalidations were applied, retries failures with back-off, claims entries a dead consumer left pending,
/// ignores duplicates (by event id) and events older than one already applied for the same entity, and moves poison
/// entries — unparseable, of an unknown type, or failing <see cref="InvalidationConsumerOptions.MaxAttempts"/> times —
/// to a dead-letter stream with the reason, then goes on.
/// </summary>
public sealed partial class InvalidationConsumer
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly SmartCache _cache;
    private readonly RedisEventStream _stream;
    private readonly IOptionsMonitor<InvalidationConsumerOptions> _options;
    private readonly string _optionsName;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private bool _groupReady;
    private long _lastClaimTimestamp;
    private InvalidationConsumerOptions? _lastValidOptions;
    private string? _reportedInvalidOptions;

    internal InvalidationConsumer(SmartCache cache, RedisEventStream stream, IOptionsMonitor<InvalidationConsumerOptions> options, ILogger? logger, TimeProvider? timeProvider, string optionsName = "")
    {
        _optionsName = optionsName;
        _cache = cache;
        _stream = stream;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// One pass: claims abandoned entries, retries this consumer's pending ones, then reads new ones. Stops between
    /// entries when <paramref name="cancellationToken"/> is cancelled; the entries not processed stay pending.
    /// </summary>
    /// <returns>How many entries were handled (applied, skipped or dead-lettered).</returns>
    /// <exception cref="CacheStoreException">Redis failed; nothing unapplied was acknowledged.</exception>
    public async Task<int> ProcessOnceAsync(CancellationToken cancellationToken = default)
    {
        InvalidationConsumerOptions options = CurrentOptions();
        try
        {
            return await PassAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheStoreException ex) when (RedisEventStream.IsMissingGroup(ex))
        {
            // The group (and likely the stream) is gone — a restart that lost the server's data: events published but not
            // applied may be lost with it, and which ones cannot be known. Fail safe, then start over with a new group.
            _groupReady = false;
            await FailSafeAsync("the consumer group no longer exists (the server lost its data?)", "group-lost", cancellationToken).ConfigureAwait(false);
            return 0;
        }
    }

    private async Task<int> PassAsync(InvalidationConsumerOptions options, CancellationToken cancellationToken)
    {
        if (!_groupReady)
        {
            await _stream.EnsureGroupAsync(options.Group).ConfigureAwait(false);
            _groupReady = true;
        }

        if (_lastClaimTimestamp == 0 || _time.GetElapsedTime(_lastClaimTimestamp) >= options.ClaimIdleTime / 2)
        {
            await _stream.ClaimAbandonedAsync(options.Group, options.ConsumerName, options.ClaimIdleTime, options.BatchSize).ConfigureAwait(false);
            _lastClaimTimestamp = _time.GetTimestamp();
        }

        // Entries the group never read, trimmed away (by someone else's MAXLEN): their invalidations are lost. Void first,
        // then record it: a failure in between only voids again next time.
        if (await _stream.FindGapAsync(options.Group).ConfigureAwait(false) is { } entriesRead)
        {
            await FailSafeAsync("entries were trimmed from the stream before this group read them", "gap", cancellationToken).ConfigureAwait(false);
            await _stream.SkipGapAsync(options.Group, entriesRead).ConfigureAwait(false);
        }

        int handled = 0;
        foreach (bool pending in new[] { true, false })
        {
            StreamEvent[] entries = await _stream.ReadAsync(options.Group, options.ConsumerName, options.BatchSize, pending).ConfigureAwait(false);
            handled += await HandleBatchAsync(entries, options, cancellationToken).ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                return handled;
            }
        }

        if (handled > 0)
        {
            await _stream.TrimAcknowledgedAsync().ConfigureAwait(false);
        }

        _cache.Metrics.Pending(await _stream.PendingCountAsync(options.Group).ConfigureAwait(false));
        return handled;
    }

    /// <summary>The current options, or the last valid ones (logged) while a reload made them invalid.</summary>
    private InvalidationConsumerOptions CurrentOptions()
    {
        try
        {
            _lastValidOptions = _options.Get(_optionsName);
            _reportedInvalidOptions = null;
            return _lastValidOptions;
        }
        catch (OptionsValidationException ex) when (_lastValidOptions is not null)
        {
            if (ex.Message != _reportedInvalidOptions) // once per bad configuration, not once per poll
            {
                _reportedInvalidOptions = ex.Message;
                Log.ConsumerOptionsInvalid(_logger, ex.Message);
            }

            return _lastValidOptions;
        }
    }

    /// <summary>Voids every tenant's entries: invalidations were lost and which ones cannot be known.</summary>
    private async Task FailSafeAsync(string reason, string outcome, CancellationToken cancellationToken)
    {
        long bumped = await _cache.VoidEveryTenantAsync(cancellationToken).ConfigureAwait(false);
        _cache.Metrics.Event(outcome);
        Log.EventsLost(_logger, reason, bumped);
    }

    /// <summary>Applies, skips or dead-letters one entry; false when it failed and stays pending for a retry.</summary>
    private async Task<bool> HandleAsync(DecodedEntry decoded, InvalidationConsumerOptions options)
    {
        if (!CacheActivities.Enabled)
        {
            return await HandleCoreAsync(decoded, options).ConfigureAwait(false);
        }

        using Activity? activity = CacheActivities.StartEventApply(_cache.Metrics.NameTag);
        activity?.SetTag("cacheinvalidation.event.stream_id", decoded.Entry.StreamId);
        return await HandleCoreAsync(decoded, options).ConfigureAwait(false);
    }

    private async Task<bool> HandleCoreAsync(DecodedEntry decoded, InvalidationConsumerOptions options)
    {
        StreamEvent entry = decoded.Entry;
        InvalidationEvent invalidation;
        List<InvalidationAction> actions;
        Func<InvalidationEvent, IEnumerable<InvalidationAction>>? handler;
        try
        {
            decoded.Failure?.Throw(); // decoding failed: classified below like any other failure of this entry
            invalidation = decoded.Event!;
            actions = EventActions.TargetsOf(invalidation);
            handler = options.Handlers.GetValueOrDefault(invalidation.Type);
            CacheActivities.SetEvent(invalidation.Id, invalidation.Type);
            if (handler is null && actions.Count == 0)
            {
                throw new FormatException($"Unknown event type '{invalidation.Type}': no handler is registered and the event names no targets.");
            }
        }
        catch (FormatException ex)
        {
            await DeadLetterAsync(entry, options, ex.Message).ConfigureAwait(false);
            return true;
        }
        catch (ArgumentException ex)
        {
            await DeadLetterAsync(entry, options, "Invalid target: " + ex.Message).ConfigureAwait(false);
            return true;
        }
#pragma warning disable CA1031 // Whatever an entry of any shape makes the decoding throw, it is this entry's problem: retried, then dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return await RetryOrDeadLetterAsync(entry, entry.EventId ?? entry.StreamId, options, ex).ConfigureAwait(false);
        }

        string[] marks = MarkKeys(invalidation);
        string status = await _stream.BeginAsync(marks, invalidation.EntityVersion).ConfigureAwait(false);
        if (status != "apply")
        {
            _cache.Metrics.Event(status);
            await _stream.AcknowledgeAsync(options.Group, entry.StreamId).ConfigureAwait(false);
            return true;
        }

        try
        {
            // The handler is application code: its failures are retried and dead-lettered like the invalidations'.
            if (handler is not null)
            {
                actions.AddRange(handler(invalidation));
            }
        }
#pragma warning disable CA1031 // See above.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return await RetryOrDeadLetterAsync(entry, invalidation.Id, options, ex).ConfigureAwait(false);
        }

        if (options.DryRun)
        {
            Log.EventDryRun(_logger, invalidation.Id, invalidation.Type, string.Join(", ", actions.Select(EventActions.Describe)));
            _cache.Metrics.Event("dry-run");
            await _stream.AcknowledgeAsync(options.Group, entry.StreamId).ConfigureAwait(false);
            return true;
        }

        try
        {
            using (_cache.UseTenant(invalidation.Tenant))
            {
                foreach (InvalidationAction action in actions)
                {
                    await EventActions.ApplyAsync(_cache, action, options.PauseNamespaceScans).ConfigureAwait(false);
                }
            }
        }
#pragma warning disable CA1031 // Any failure of an invalidation is retried, then dead-lettered; the consumer goes on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return await RetryOrDeadLetterAsync(entry, invalidation.Id, options, ex).ConfigureAwait(false);
        }

        // Marking the event done and acknowledging its entry are independent: sent together, one round trip. Should only the
        // acknowledgement land, a duplicate or an older event of the entity may be applied later: an extra invalidation,
        // never a stale entry.
        await Task.WhenAll(
            _stream.CompleteAsync(marks, invalidation.EntityVersion, options.DedupeWindow),
            _stream.AcknowledgeAsync(options.Group, entry.StreamId)).ConfigureAwait(false);
        _cache.Metrics.Event("applied");
        _cache.Metrics.Lag(_time.GetUtcNow() - invalidation.OccurredAt);
        return true;
    }

    /// <summary>Leaves a failed entry pending for a retry after a back-off, or dead-letters it after MaxAttempts deliveries.</summary>
    private async Task<bool> RetryOrDeadLetterAsync(StreamEvent entry, string eventId, InvalidationConsumerOptions options, Exception error)
    {
        long attempts = await _stream.DeliveryCountAsync(options.Group, entry.StreamId).ConfigureAwait(false);
        if (attempts >= options.MaxAttempts)
        {
            await DeadLetterAsync(entry, options, $"Failed {attempts} times; last error: {error.Message}").ConfigureAwait(false);
            return true;
        }

        _cache.Metrics.Event("retried");
        Log.EventFailed(_logger, eventId, attempts, error);
        TimeSpan backoff = options.RetryBackoff * Math.Pow(2, Math.Max(0, attempts - 1));
        await Task.Delay(backoff < MaxBackoff ? backoff : MaxBackoff, _time).ConfigureAwait(false);
        return false;
    }

    /// <summary>The group's backlog (entries not delivered yet, delivered but not acknowledged) and the dead letters, for the health check.</summary>
    internal Task<(long? Lag, long Pending, long DeadLetters)> BacklogAsync()
    {
        InvalidationConsumerOptions options = CurrentOptions();
        return _stream.BacklogAsync(options.Group, DeadLetterKey(options));
    }

    private string DeadLetterKey(InvalidationConsumerOptions options) => options.DeadLetterStreamKey ?? _stream.StreamKey + ":dead";

    private async Task DeadLetterAsync(StreamEvent entry, InvalidationConsumerOptions options, string reason)
    {
        await _stream.DeadLetterAsync(DeadLetterKey(options), entry, reason, 10_000).ConfigureAwait(false);
        await _stream.AcknowledgeAsync(options.Group, entry.StreamId).ConfigureAwait(false);
        _cache.Metrics.Event("dead-lettered");
        Log.EventDeadLettered(_logger, entry.StreamId, reason);
    }

    /// <summary>The event's done-mark and its entity's watermark, under one hash tag so one script reads both.</summary>
    private string[] MarkKeys(InvalidationEvent invalidation) =>
        _cache.LayoutFor(invalidation.Tenant ?? _cache.Layout.Tenant).EventMarkKeys(invalidation.Entity, invalidation.Id);
}
