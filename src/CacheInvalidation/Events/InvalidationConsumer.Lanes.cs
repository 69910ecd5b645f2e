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
        async Task RunLaneAsync(List<StreamEvent> lane)
        {
            foreach (StreamEvent entry in lane)
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

        if (options.MaxConcurrency == 1 || entries.Length < 2)
        {
            await RunLaneAsync([.. entries]).ConfigureAwait(false);
            return handled;
        }

        var lanes = new Dictionary<string, List<StreamEvent>>(StringComparer.Ordinal);
        foreach (StreamEvent entry in entries)
        {
            string lane = LaneOf(entry);
            if (!lanes.TryGetValue(lane, out List<StreamEvent>? list))
            {
                lanes[lane] = list = [];
            }

            list.Add(entry);
        }

        // An entry's own failures (retried later, dead-lettered) are handled inside HandleAsync. A Redis failure ends the
        // pass with its exception once the running lanes are done (no new lane starts); whatever was not acknowledged
        // stays pending, as after a failed sequential pass.
        await Parallel.ForEachAsync(
            lanes.Values,
            new ParallelOptions { MaxDegreeOfParallelism = options.MaxConcurrency },
            async (lane, _) => await RunLaneAsync(lane).ConfigureAwait(false)).ConfigureAwait(false);
        return handled;
    }

    /// <summary>The entry's ordering lane: its tenant and entity (whose watermark it moves), else its own event id.</summary>
    private static string LaneOf(StreamEvent entry)
    {
        try
        {
            if (entry.Json is not null && InvalidationEventJson.Deserialize(entry.Json) is { Entity: { } entity } invalidation)
            {
                return "e:" + invalidation.Tenant + "/" + entity;
            }
        }
#pragma warning disable CA1031 // An entry that does not parse is dead-lettered by HandleAsync; here it only needs a lane.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        return "i:" + (entry.EventId ?? entry.StreamId);
    }
}
