using Microsoft.Extensions.Logging;

namespace CacheInvalidation.Diagnostics;

/// <summary>The library's log messages, source-generated so a disabled level costs nothing.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Cache read of {Key} failed; the value is taken from the source instead.")]
    public static partial void ReadFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(2, LogLevel.Warning, "Cache write of {Key} failed; the value was returned but not cached.")]
    public static partial void WriteFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(3, LogLevel.Warning, "Cache entry {Key} could not be deserialized as {Type}; it was deleted and treated as a miss.")]
    public static partial void CorruptEntry(ILogger logger, string key, string type, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "Deleting the corrupt cache entry {Key} failed; the fresh value is returned but not cached.")]
    public static partial void CorruptEntryDeleteFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(5, LogLevel.Error, "Invalidation ({Kind}) of {Target} failed; the caller is told.")]
    public static partial void InvalidationFailed(ILogger logger, string kind, string target, Exception exception);

    [LoggerMessage(6, LogLevel.Warning, "A value for {Key} could not be serialized; it was returned but not cached.")]
    public static partial void SerializeFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(7, LogLevel.Information, "Invalidated every entry of tenant {Tenant} (global version bumped on {Shards} shards).")]
    public static partial void InvalidatedAll(ILogger logger, string tenant, int shards);

    [LoggerMessage(8, LogLevel.Warning, "Waited {WaitMs} ms for another caller's lease on {Key}; loading it without caching.")]
    public static partial void LeaseWaitTimedOut(ILogger logger, string key, long waitMs);

    [LoggerMessage(9, LogLevel.Warning, "Background refresh of {Key} failed; the stale value stays until its budget ends.")]
    public static partial void RefreshFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(10, LogLevel.Debug, "Releasing the lease on {Key} failed; it expires by itself.")]
    public static partial void LeaseReleaseFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "Redis memory policy: {Warning}")]
    public static partial void MemoryPolicyWarning(ILogger logger, string warning);

    [LoggerMessage(12, LogLevel.Information, "Redis memory policy: maxmemory {MaxMemory}, maxmemory-policy {Policy}; applied: {Applied}.")]
    public static partial void MemoryPolicyChecked(ILogger logger, long? maxMemory, string? policy, string applied);

    [LoggerMessage(13, LogLevel.Warning, "AUDIT purge {Phase}: scope {Scope}, actor {Actor}, reason {Reason}, keys deleted {Deleted}, audit id {AuditId}.")]
    public static partial void PurgeAudit(ILogger logger, string phase, string scope, string actor, string reason, long deleted, string auditId);

    [LoggerMessage(14, LogLevel.Debug, "Pruning the dependency index {Index} failed.")]
    public static partial void PruneFailed(ILogger logger, string index, Exception exception);

    [LoggerMessage(15, LogLevel.Warning, "Registering {Key} in its dependency indexes failed; the value is returned but not cached.")]
    public static partial void RegisterFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(16, LogLevel.Warning, "Invalidation event {StreamId} dead-lettered: {Reason}")]
    public static partial void EventDeadLettered(ILogger logger, string streamId, string reason);

    [LoggerMessage(17, LogLevel.Warning, "Invalidation event {EventId} failed (attempt {Attempt}); it will be retried.")]
    public static partial void EventFailed(ILogger logger, string eventId, long attempt, Exception exception);

    [LoggerMessage(18, LogLevel.Information, "Dry run: event {EventId} ({Type}) would invalidate {Actions}.")]
    public static partial void EventDryRun(ILogger logger, string eventId, string type, string actions);

    [LoggerMessage(19, LogLevel.Error, "The outbox relay failed; it will try again.")]
    public static partial void RelayFailed(ILogger logger, Exception exception);

    [LoggerMessage(20, LogLevel.Error, "The invalidation consumer failed; it will try again.")]
    public static partial void ConsumerFailed(ILogger logger, Exception exception);

    [LoggerMessage(36, LogLevel.Error, "The invalidation consumer's options became invalid; it goes on with the last valid ones: {Failures}")]
    public static partial void ConsumerOptionsInvalid(ILogger logger, string failures);

    [LoggerMessage(21, LogLevel.Information, "A caller joined the load of {Key} with a dependency source registered too late to be tracked; the value is returned but not cached.")]
    public static partial void WriteSkipped(ILogger logger, string key);

    [LoggerMessage(22, LogLevel.Warning, "Extending the lease of the slow load of {Key} failed; it is tried again, and the value may not be cached if the lease expires meanwhile.")]
    public static partial void LeaseExtendFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(23, LogLevel.Error, "Not caching: {Mismatch}")]
    public static partial void LayoutMismatch(ILogger logger, string mismatch);

    [LoggerMessage(24, LogLevel.Warning, "Redis failed repeatedly: the circuit is open for {BreakMs} ms; reads use the source, writes and invalidations fail at once.")]
    public static partial void CircuitOpened(ILogger logger, long breakMs, Exception? exception);

    [LoggerMessage(25, LogLevel.Information, "Redis answers again: the circuit is closed.")]
    public static partial void CircuitClosed(ILogger logger);

    [LoggerMessage(26, LogLevel.Warning, "More than {Capacity} invalidations wait for Redis: the journal now voids everything of the {Tenants} tenant(s) concerned instead.")]
    public static partial void JournalCollapsed(ILogger logger, int capacity, int tenants);

    [LoggerMessage(27, LogLevel.Error, "Applying a journaled invalidation ({Kind}) failed; it is tried again.")]
    public static partial void JournalReplayFailed(ILogger logger, string kind, Exception exception);

    [LoggerMessage(28, LogLevel.Information, "Redis answers again: every journaled invalidation has been applied.")]
    public static partial void JournalReplayed(ILogger logger);

    [LoggerMessage(29, LogLevel.Warning, "Invalidation ({Kind}) of {Target} was not confirmed by Redis; it is journaled ({Pending} pending) and applied when Redis answers again.")]
    public static partial void InvalidationJournaled(ILogger logger, string kind, string target, int pending, Exception exception);

    [LoggerMessage(30, LogLevel.Error, "Invalidation events may have been lost ({Reason}): every tenant's entries were voided ({Bumped} version keys bumped).")]
    public static partial void EventsLost(ILogger logger, string reason, long bumped);

    [LoggerMessage(31, LogLevel.Warning, "No replica of {Primary} acknowledged a version bump within 200 ms: a failover now could undo it.")]
    public static partial void ReplicationShort(ILogger logger, string primary);

    [LoggerMessage(32, LogLevel.Warning, "The local tier could not confirm its shards' invalidation sequences; entries stop being served from memory once their budget has passed.")]
    public static partial void LocalConfirmationFailed(ILogger logger, Exception exception);

    [LoggerMessage(33, LogLevel.Warning, "The local tier could not subscribe to the invalidation channels of tenant {Tenant}; its invalidations are applied at each confirmation instead of at once.")]
    public static partial void LocalSubscribeFailed(ILogger logger, string tenant, Exception exception);

    [LoggerMessage(34, LogLevel.Warning, "An unreadable message arrived on invalidation channel {Channel}; it was ignored (the next confirmation accounts for it).")]
    public static partial void LocalMessageUnreadable(ILogger logger, string channel);

    [LoggerMessage(35, LogLevel.Warning, "The local tier could subscribe to {Failed} of {Channels} invalidation channels; it tries again at each confirmation, and applies those shards' invalidations at the confirmations meanwhile.")]
    public static partial void LocalSubscribeIncomplete(ILogger logger, int failed, int channels);

    [LoggerMessage(220, LogLevel.Warning, "AUDIT kill switch {Phase}: aggressive invalidation (namespace scans, purges) of prefix {Prefix} {State} by actor {Actor}, reason {Reason}, audit id {AuditId}.")]
    public static partial void KillSwitchAudit(ILogger logger, string phase, string prefix, string state, string actor, string reason, string auditId);

    [LoggerMessage(221, LogLevel.Information, "Kill switch engaged ({EngagedBy}): the namespace invalidation of {Namespace} was done as a version bump, without a scan; its old entries age out by their TTL.")]
    public static partial void NamespaceScanDiverted(ILogger logger, string engagedBy, string @namespace);

    [LoggerMessage(222, LogLevel.Warning, "AUDIT purge refused: scope {Scope}, actor {Actor}, reason {Reason}; the kill switch is engaged ({EngagedBy}), nothing was deleted. Audit id {AuditId}.")]
    public static partial void PurgeRefused(ILogger logger, string scope, string actor, string reason, string engagedBy, string auditId);

    [LoggerMessage(223, LogLevel.Warning, "The kill switch could not be read from Redis; the namespace invalidation of {Namespace} is done as a version bump, without a scan.")]
    public static partial void KillSwitchUnreadable(ILogger logger, string @namespace, Exception exception);

    // Orphan control: ids from 70, apart from the other features' ranges.
    [LoggerMessage(70, LogLevel.Information, "Orphans of tenant {Tenant}: {Orphans} of {Sampled} entries checked ({Entries} found), about {Estimated} orphans left, the longest living {MaxLifetime} more.")]
    public static partial void OrphansCounted(ILogger logger, string tenant, long orphans, long sampled, long entries, long estimated, TimeSpan maxLifetime);

    [LoggerMessage(71, LogLevel.Warning, "AUDIT orphan cleanup {Phase}: scope {Scope}, actor {Actor}, reason {Reason}, orphans removed {Removed}, audit id {AuditId}.")]
    public static partial void OrphanCleanupAudit(ILogger logger, string phase, string scope, string actor, string reason, long removed, string auditId);

    [LoggerMessage(72, LogLevel.Warning, "The orphan cleanup job of tenant {Tenant} failed; it runs again at its next interval.")]
    public static partial void OrphanJobFailed(ILogger logger, string tenant, Exception exception);

    [LoggerMessage(73, LogLevel.Debug, "Orphans of tenant {Tenant} under the cleanup threshold (about {Estimated}, the longest living {MaxLifetime} more): nothing removed.")]
    public static partial void OrphansUnderThreshold(ILogger logger, string tenant, long estimated, TimeSpan maxLifetime);

    [LoggerMessage(74, LogLevel.Information, "Orphan cleanup of tenant {Tenant}: {Removed} removed of {Orphans} found among {Entries} entries in {Elapsed}.")]
    public static partial void OrphansRemoved(ILogger logger, string tenant, long removed, long orphans, long entries, TimeSpan elapsed);
}
