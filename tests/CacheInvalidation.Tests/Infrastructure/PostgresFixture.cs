namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>
/// A private PostgreSQL server shared by the tests of <see cref="PostgresCollection"/>, started with <c>fsync=off</c>
/// (commits still survive a killed server) and killed by its pid at the end. Each test takes its own database from
/// <see cref="CreateDatabaseAsync"/>. Without the server binaries, tests marked <see cref="PostgresFactAttribute"/> are
/// skipped with the reason; with <c>CI=true</c> the fixture fails instead, and with it every test of the collection.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServerProcess? _server;
    private string? _unavailable;

    /// <summary>The server (to kill, stop or restart it: the other tests of the collection share it, so restart it before returning).</summary>
    public PostgresServerProcess Server => _server ?? throw new InvalidOperationException(_unavailable ?? "The PostgreSQL fixture is not initialized.");

    /// <summary>The <c>postgres</c> database (shared: prefer <see cref="CreateDatabaseAsync"/>).</summary>
    public string ConnectionString => Server.ConnectionString;

    /// <summary>A new, empty database of the shared server; returns its connection string.</summary>
    public Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default) => Server.CreateDatabaseAsync(cancellationToken);

    public Task InitializeAsync()
    {
        // Locally the tests are skipped (PostgresFactAttribute) and must not fail here; in CI the same reason fails them.
        if (!LocalServers.InCi && PostgresServerProcess.UnavailableMessage() is { } unavailable)
        {
            _unavailable = unavailable;
            return Task.CompletedTask;
        }

        _server = PostgresServerProcess.Start(fsync: false);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _server?.Dispose();
        return Task.CompletedTask;
    }
}
