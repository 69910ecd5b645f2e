using System.Runtime.ExceptionServices;
using CacheInvalidation.Client;

namespace CacheInvalidation.Events;

// A batch in lanes: one entity's events in stream order, several entities at once.
public sealed partial class InvalidationConsumer
{
    /// <summary>
    /// Handles a batch with up to <see cref="InvalidationConsumerOptions.MaxConcurrency"/> entries at once: entries of one
    /// entity stay in one lane, in stream order, so its watermark is never raced; lanes overlap their round trips.
    /// Stops starting entries once <paramref name="cancellationToken"/> is cancelled; those left stay pending.
    /// </summary>
    private async Task<int> HandleBatchAsync(StreamEvent[] entries, InvalidationConsumerOptions options, CancellationToken cancellationToken)
    {
        int handled = 0;
        async Task RunLaneAsync(IEnumerable<DecodedEntry> lane)
        {
            foreach (DecodedEntry entry in lane)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                if (await HandleAsync(entry, options).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref handled);
                }
            }
        }

        // Each entry is decoded once: its lane and its handling both read the decoded event.
        DecodedEntry[] decoded = Array.ConvertAll(entries, DecodedEntry.Of);
        if (options.MaxConcurrency == 1 || decoded.Length < 2)
        {
            await RunLaneAsync(decoded).ConfigureAwait(false);
            return handled;
        }

        // An entry's own failures (retried later, dead-lettered) are handled inside HandleAsync. A Redis failure ends the
        // pass with its exception once the running lanes are done (no new lane starts); whatever was not acknowledged
        // stays pending, as after a failed sequential pass.
        await Parallel.ForEachAsync(
            decoded.GroupBy(entry => entry.Lane, StringComparer.Ordinal),
            new ParallelOptions { MaxDegreeOfParallelism = options.MaxConcurrency },
            async (lane, _) => await RunLaneAsync(lane).ConfigureAwait(false)).ConfigureAwait(false);
        return handled;
    }

    /// <summary>A stream entry and its event, or what made decoding it fail (handled with the entry, in its lane).</summary>
    private readonly record struct DecodedEntry(StreamEvent Entry, InvalidationEvent? Event, ExceptionDispatchInfo? Failure)
    {
        /// <summary>The entry's ordering lane: its tenant and entity (whose watermark it moves), else its own event id.</summary>
        public string Lane => Event is { Entity: { } entity } ? "e:" + Event.Tenant + "/" + entity : "i:" + (Entry.EventId ?? Entry.StreamId);

        public static DecodedEntry Of(StreamEvent entry)
        {
            try
            {
                return new(entry, InvalidationEventJson.Deserialize(entry.Json ?? throw new FormatException("The entry has no 'event' field.")), null);
            }
#pragma warning disable CA1031 // Whatever an entry of any shape makes the decoding throw is this entry's problem: HandleAsync rethrows it there.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                return new(entry, null, ExceptionDispatchInfo.Capture(ex));
            }
        }
    }
}
