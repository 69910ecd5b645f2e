using System.Collections.Concurrent;
using System.Globalization;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Local;

/// <summary>
/// Keeps a node's knowledge of the shards it holds entries of current: subscribes to their channels when a tenant is
/// first used, applies each announced invalidation through <c>apply</c>, reads every shard's sequence once per interval
/// to confirm nothing was missed, and distrusts every shard when a connection to Redis fails.
/// </summary>
internal sealed class LocalSync : IDisposable
{
    /// <summary>How many tenants a node holds in memory; the entries of further tenants are served from Redis only.</summary>
    internal const int MaxTenants = 1_000;

    private readonly IInvalidationFeed _feed;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action<LocalShard, char, string[]> _apply;
    private readonly ConcurrentDictionary<string, LocalShard> _byTag = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LocalShard[]> _byTenant = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _unsubscribed = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private LocalShard[] _all = [];
    private readonly long _created;
    private Task? _confirming;
    private readonly CacheMetrics _metrics;

    public LocalSync(IInvalidationFeed feed, TimeSpan interval, TimeProvider time, ILogger logger, Action<LocalShard, char, string[]> apply, CacheMetrics metrics)
    {
        _metrics = metrics;
        _feed = feed;
        _interval = interval;
        _time = time;
        _logger = logger;
        _apply = apply;
        _created = time.GetTimestamp();
        feed.ConnectionLost += OnConnectionLost;
        ConfirmationAge = OldestConfirmationAge;
    }

    /// <summary>Seconds since the least recently confirmed shard's proof (the gauge's source).</summary>
    public Func<double> ConfirmationAge { get; }

    /// <summary>The shards of <paramref name="layout"/>'s tenant, subscribed on first use; null past <see cref="MaxTenants"/>.</summary>
    public LocalShard[]? Shards(KeyLayout layout)
    {
        if (_byTenant.TryGetValue(layout.Tenant, out LocalShard[]? shards))
        {
            return shards;
        }

        lock (_gate)
        {
            if (_byTenant.TryGetValue(layout.Tenant, out shards))
            {
                return shards;
            }

            if (_byTenant.Count >= MaxTenants || _stop.IsCancellationRequested)
            {
                return null;
            }

            shards = layout.ShardTags().Select(tag => new LocalShard(layout.Tenant, tag, _metrics)).ToArray();
            foreach (LocalShard shard in shards)
            {
                _byTag[shard.Tag] = shard;
            }

            _all = [.. _all, .. shards];
            _byTenant[layout.Tenant] = shards;

            // Background work must not carry the first caller's context (its activity, its tenant scope) forever.
            bool suppress = !ExecutionContext.IsFlowSuppressed();
            AsyncFlowControl flow = suppress ? ExecutionContext.SuppressFlow() : default;
            try
            {
                _confirming ??= ConfirmLoopAsync();

                // Subscribed first, then confirmed at once: the tenant's entries can be served from memory within a round
                // trip, not an interval, after its first use.
                _ = SubscribeThenConfirmAsync(shards);
            }
            finally
            {
                if (suppress)
                {
                    flow.Undo();
                }
            }
        }

        return shards;
    }

    /// <summary>The shard whose hash tag is <paramref name="tag"/>, if this node holds entries of its tenant.</summary>
    public LocalShard? Shard(string tag) => _byTag.TryGetValue(tag, out LocalShard? shard) ? shard : null;

    /// <summary>One confirmation round over every shard held (the loop runs one per interval; tests call it to settle).</summary>
    public async Task ConfirmAsync(CancellationToken cancellationToken)
    {
        LocalShard[] shards = Volatile.Read(ref _all);
        if (shards.Length == 0)
        {
            return;
        }

        int[] resets = Array.ConvertAll(shards, s => s.Resets);
        long sentAt = _time.GetTimestamp();
        long[] sequences;
        try
        {
            sequences = await _feed.ReadSequencesAsync(Array.ConvertAll(shards, s => s.SequenceKey), cancellationToken).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            // Nothing is confirmed: each shard's trust runs out by itself once its budget has passed.
            _metrics.StoreError("local-confirm");
            Log.LocalConfirmationFailed(_logger, ex);
            return;
        }

        for (int i = 0; i < shards.Length; i++)
        {
            shards[i].Confirm(sequences[i], sentAt, resets[i]);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _feed.ConnectionLost -= OnConnectionLost;
        _feed.Close();
    }

    private async Task ConfirmLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_interval, _time, _stop.Token).ConfigureAwait(false);
                if (!_unsubscribed.IsEmpty)
                {
                    await SubscribeAsync([.. _unsubscribed.Keys]).ConfigureAwait(false);
                }

                await ConfirmAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The loop must outlive any one round (an unreadable sequence, say): a round that fails proves nothing, so trust runs out by itself.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.LocalConfirmationFailed(_logger, ex);
            }
        }
    }

    private async Task SubscribeThenConfirmAsync(LocalShard[] shards)
    {
        try
        {
            await SubscribeAsync(Array.ConvertAll(shards, s => s.Channel)).ConfigureAwait(false);
            await ConfirmAsync(_stop.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Nobody awaits this: whatever failed, confirmations still bound what memory serves.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.LocalSubscribeFailed(_logger, shards[0].Tenant, ex);
        }
    }

    /// <summary>
    /// Subscribes to <paramref name="channels"/>; those that fail are tried again at each confirmation. Meanwhile their
    /// shards' invalidations are applied at the confirmations (by flushing), not at once.
    /// </summary>
    private async Task SubscribeAsync(string[] channels)
    {
        IReadOnlyList<string> failed = await _feed.SubscribeAsync(channels, OnMessage, _stop.Token).ConfigureAwait(false);
        foreach (string channel in channels)
        {
            if (failed.Contains(channel))
            {
                _unsubscribed.TryAdd(channel, 0);
            }
            else
            {
                _unsubscribed.TryRemove(channel, out _);
            }
        }

        if (failed.Count > 0)
        {
            Log.LocalSubscribeIncomplete(_logger, failed.Count, channels.Length);
        }
    }

    private void OnMessage(string channel, string message)
    {
        if (KeyLayout.TagOfChannel(channel) is not { } tag || Shard(tag) is not { } shard)
        {
            return;
        }

        string[] parts = message.Split('\n');
        if (parts.Length < 3 || parts[1].Length != 1 || !long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long sequence))
        {
            Log.LocalMessageUnreadable(_logger, channel);
            return;
        }

        _metrics.LocalMessage();
        shard.ApplyAnnounced(sequence, (Apply: _apply, Shard: shard, Kind: parts[1][0], Keys: parts[2..]), static s => s.Apply(s.Shard, s.Kind, s.Keys));
    }

    private void OnConnectionLost()
    {
        foreach (LocalShard shard in Volatile.Read(ref _all))
        {
            shard.Reset();
        }
    }

    private double OldestConfirmationAge()
    {
        LocalShard[] shards = Volatile.Read(ref _all);
        long oldest = long.MaxValue;
        foreach (LocalShard shard in shards)
        {
            oldest = Math.Min(oldest, shard.ConfirmedAt);
        }

        // A shard never confirmed counts from the node's start: how long it has gone without a proof.
        return shards.Length == 0 ? 0 : _time.GetElapsedTime(oldest == long.MinValue ? _created : oldest).TotalSeconds;
    }
}
