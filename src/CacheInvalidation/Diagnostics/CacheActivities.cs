using System.Diagnostics;

namespace CacheInvalidation.Diagnostics;

/// <summary>
/// The library's spans: <c>cacheinvalidation.get_or_set</c>, <c>cacheinvalidation.factory</c>,
/// <c>cacheinvalidation.invalidate</c> and <c>cacheinvalidation.event.apply</c>. Nothing is allocated unless a listener
/// samples them; keys never become attributes (they may hold personal data), namespaces do.
/// </summary>
internal static class CacheActivities
{
    public const string KindAttribute = "cacheinvalidation.invalidation.kind";

    private static readonly ActivitySource Source = new(CacheTelemetry.ActivitySourceName, CacheTelemetry.Version);

    /// <summary>True when a listener may want a span: callers take their traced path only then.</summary>
    public static bool Enabled => Source.HasListeners();

    public static Activity? StartGetOrSet(KeyValuePair<string, object?> cacheName, string @namespace)
    {
        Activity? activity = Source.StartActivity("cacheinvalidation.get_or_set", ActivityKind.Internal);
        activity?.SetTag(cacheName.Key, cacheName.Value);
        activity?.SetTag("cacheinvalidation.namespace", @namespace);
        return activity;
    }

    public static Activity? StartFactory(KeyValuePair<string, object?> cacheName)
    {
        Activity? activity = Source.StartActivity("cacheinvalidation.factory", ActivityKind.Internal);
        activity?.SetTag(cacheName.Key, cacheName.Value);
        return activity;
    }

    public static Activity? StartInvalidation(KeyValuePair<string, object?> cacheName, string kind)
    {
        Activity? activity = Source.StartActivity("cacheinvalidation.invalidate", ActivityKind.Internal);
        activity?.SetTag(cacheName.Key, cacheName.Value);
        activity?.SetTag(KindAttribute, kind);
        return activity;
    }

    public static Activity? StartEventApply(KeyValuePair<string, object?> cacheName)
    {
        Activity? activity = Source.StartActivity("cacheinvalidation.event.apply", ActivityKind.Consumer);
        activity?.SetTag(cacheName.Key, cacheName.Value);
        return activity;
    }

    /// <summary>Names the event the current <c>cacheinvalidation.event.apply</c> span applies, once it is decoded.</summary>
    public static void SetEvent(string id, string type)
    {
        if (Current() is { } activity)
        {
            activity.SetTag("cacheinvalidation.event.id", id);
            activity.SetTag("cacheinvalidation.event.type", type);
        }
    }

    /// <summary>Marks a span failed, with the exception as an event (the OpenTelemetry convention).</summary>
    public static void Fail(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag("error.type", exception.GetType().FullName);
        activity.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
        {
            ["exception.type"] = exception.GetType().FullName,
            ["exception.message"] = exception.Message,
        }));
    }

    /// <summary>Sets the current library span's result (a read's hit/miss/local…, an event's outcome).</summary>
    public static void SetResult(string result)
    {
        if (Current() is { } activity)
        {
            activity.SetTag("cacheinvalidation.result", result);
        }
    }

    /// <summary>Adds a Redis step (lease wait, write, store error) to the current library span.</summary>
    public static void AddEvent(string name, string attribute, string value)
    {
        if (Current() is { } activity)
        {
            activity.AddEvent(new ActivityEvent(name, tags: new ActivityTagsCollection { [attribute] = value }));
        }
    }

    private static Activity? Current()
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        Activity? current = Activity.Current;
        return current is not null && ReferenceEquals(current.Source, Source) && current.IsAllDataRequested ? current : null;
    }
}
