using System.Globalization;
using CacheInvalidation.Client;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Keys;

namespace CacheInvalidation.Strategies;

/// <summary>
/// The kill switch of aggressive invalidation (namespace scans, purges), engaged by configuration (read at run time) or
/// by the administration (a record in Redis under the prefix, so every node sees it). Nodes read the record only when
/// about to run an aggressive operation — these are rare — so one HGET then costs nothing noticeable and there is no
/// delay: the next aggressive operation after a change sees it.
/// </summary>
internal sealed class KillSwitch
{
    /// <summary>Who engaged the switch: the configuration.</summary>
    public const string ByOptions = "options";

    /// <summary>Who engaged the switch: the administration (in Redis).</summary>
    public const string ByAdministration = "administration";

    private const string SuspendedField = "suspended";
    private const int AuditStreamLength = 10_000;

    private readonly IKeyspace _keyspace;
    private readonly Func<bool> _configured;
    private readonly CacheMetrics _metrics;
    private readonly TimeProvider _time;

    /// <param name="keyspace">Where the record lives.</param>
    /// <param name="prefix">The key prefix the switch applies to (every tenant of it).</param>
    /// <param name="configured">Reads <see cref="SmartCacheOptions.SuspendAggressiveInvalidation"/> as currently configured.</param>
    /// <param name="metrics">Counts what the switch held back; its gauge shows the switch.</param>
    /// <param name="time">The clock of the records.</param>
    public KillSwitch(IKeyspace keyspace, string prefix, Func<bool> configured, CacheMetrics metrics, TimeProvider time)
    {
        _keyspace = keyspace;
        Prefix = prefix;
        Key = PrefixKeys.KillSwitchKey(prefix);
        _configured = configured;
        _metrics = metrics;
        _time = time;
    }

    /// <summary>The key prefix the switch applies to.</summary>
    public string Prefix { get; }

    /// <summary>The switch's record in Redis.</summary>
    public string Key { get; }

    /// <summary>Whether the configuration engages the switch now (no Redis work).</summary>
    public bool EngagedByOptions => _configured();

    /// <summary>
    /// Who holds aggressive invalidation back now: <see cref="ByOptions"/>, <see cref="ByAdministration"/>, or null
    /// when nobody does. The configuration is read first; the record in Redis only when the configuration does not
    /// engage it.
    /// </summary>
    /// <exception cref="CacheStoreException">The record could not be read.</exception>
    public async Task<string?> EngagedByAsync(CancellationToken cancellationToken)
    {
        if (_configured())
        {
            return ByOptions;
        }

        bool administered = await _keyspace.ReadRecordFieldAsync(Key, SuspendedField, cancellationToken).ConfigureAwait(false) == "1";
        _metrics.KillSwitchAdministered(administered);
        return administered ? ByAdministration : null;
    }

    /// <summary>The state of both switches and the last administrative change.</summary>
    /// <exception cref="CacheStoreException">The record could not be read.</exception>
    public async Task<AggressiveInvalidationStatus> ReadAsync(CancellationToken cancellationToken) =>
        StatusOf(await _keyspace.ReadRecordAsync(Key, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Engages or lifts the administrative switch for every node of the prefix, together with its audit record (one
    /// transaction); returns the new status and the audit record's id.
    /// </summary>
    /// <exception cref="CacheStoreException">Redis failed; nothing was changed (the transaction did not commit) or it is unknown whether it did.</exception>
    public async Task<(AggressiveInvalidationStatus Status, string AuditId)> SetAsync(bool suspended, string actor, string reason, CancellationToken cancellationToken)
    {
        string time = _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        KeyValuePair<string, string>[] fields =
        [
            new(SuspendedField, suspended ? "1" : "0"),
            new("actor", actor),
            new("reason", reason),
            new("time", time),
        ];
        KeyValuePair<string, string>[] audit =
        [
            new("phase", suspended ? "suspended" : "resumed"),
            new("scope", "kill-switch"),
            new("actor", actor),
            new("reason", reason),
            new("time", time),
        ];
        string auditId = await _keyspace.WriteRecordAuditedAsync(Key, fields, PrefixKeys.AuditStreamKey(Prefix), audit, AuditStreamLength, cancellationToken).ConfigureAwait(false);
        _metrics.KillSwitchAdministered(suspended);
        return (StatusOf(fields.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal)), auditId);
    }

    /// <summary>Counts an aggressive invalidation the switch held back.</summary>
    public void Held(string kind, string outcome) => _metrics.KillSwitchOperation(kind, outcome);

    private AggressiveInvalidationStatus StatusOf(IReadOnlyDictionary<string, string> record)
    {
        bool administered = record.GetValueOrDefault(SuspendedField) == "1";
        _metrics.KillSwitchAdministered(administered);
        bool configured = _configured();
        DateTimeOffset? changedAt = record.TryGetValue("time", out string? time)
            && DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out DateTimeOffset parsed)
            ? parsed
            : null;
        return new AggressiveInvalidationStatus(configured || administered, configured, administered, record.GetValueOrDefault("actor"), record.GetValueOrDefault("reason"), changedAt);
    }
}
