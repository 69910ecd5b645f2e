namespace CacheInvalidation;

/// <summary>
/// The kill switch of a cache's key prefix: whether aggressive invalidation (namespace scans, mass purges) is suspended,
/// and why. Returned by <see cref="ISmartCacheAdministration.GetAggressiveInvalidationStatusAsync"/> and by the calls that
/// change it.
/// </summary>
/// <param name="Suspended">True while either switch is engaged: namespace scans are done as version bumps, purges are refused.</param>
/// <param name="SuspendedByOptions">Engaged by <see cref="SmartCacheOptions.SuspendAggressiveInvalidation"/> in this process's configuration.</param>
/// <param name="SuspendedByAdministration">Engaged in Redis by <see cref="ISmartCacheAdministration.SuspendAggressiveInvalidationAsync"/>: for every node of the prefix.</param>
/// <param name="Actor">Who made the last administrative change (suspend or resume); null when there was none.</param>
/// <param name="Reason">Why, as given with the last administrative change; null when there was none.</param>
/// <param name="ChangedAt">When the last administrative change was made; null when there was none.</param>
public sealed record AggressiveInvalidationStatus(
    bool Suspended,
    bool SuspendedByOptions,
    bool SuspendedByAdministration,
    string? Actor,
    string? Reason,
    DateTimeOffset? ChangedAt);
