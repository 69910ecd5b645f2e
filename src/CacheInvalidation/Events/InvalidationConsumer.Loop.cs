using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;

namespace CacheInvalidation.Events;

// The consumer's hosted loop: woken by the relay's announcements, polling as the safety net.
public sealed partial class InvalidationConsumer
{
    /// <summary>Consumes until <paramref name="stoppingToken"/> is cancelled; the entry in hand is finished, the rest of the batch released.</summary>
    internal async Task RunAsync(CancellationToken stoppingToken)
    {
        // Woken by the relay's announcement instead of waiting out the poll interval; polling stays the safety net. A
        // subscription Redis did not answer in time is not retried here: the client keeps it and completes it once the
        // server answers (EventFaultTests.Consumer_started_while_redis_is_frozen_…).
        var wake = new WakeSignal();
        IAsyncDisposable? announcements = null;
        try
        {
            announcements = await _stream.SubscribeAnnouncementsAsync(wake.Set).ConfigureAwait(false);
        }
        catch (CacheStoreException ex)
        {
            Log.ConsumerWakeUnavailable(_logger, _stream.AnnouncementChannel.ToString(), ex);
        }

        try
        {
            await ConsumeAsync(wake, stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            if (announcements is not null)
            {
                await announcements.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task ConsumeAsync(WakeSignal wake, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            int handled = 0;
            try
            {
                handled = await ProcessOnceAsync(stoppingToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Redis down: nothing was acknowledged that was not applied; try again after a pause.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.ConsumerFailed(_logger, ex);
            }

            if (handled == 0)
            {
                try
                {
                    await wake.WaitAsync(CurrentOptions().PollInterval, _time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
