namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>
/// A test that needs a PostgreSQL server: skipped, with the reason, where the server binaries are missing, unless
/// <c>CI=true</c>, where it runs and fails (a missing server must never turn CI green).
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!LocalServers.InCi && PostgresServerProcess.UnavailableMessage() is { } unavailable)
        {
            Skip = unavailable;
        }
    }
}
