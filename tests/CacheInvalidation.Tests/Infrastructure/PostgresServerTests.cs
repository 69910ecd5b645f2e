using Npgsql;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>The private PostgreSQL server the outbox tests stand on: the right version, isolated databases, crash and restart by pid, nothing left behind.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresServerTests(PostgresFixture postgres)
{
    [PostgresFact]
    public async Task Server_is_PostgreSQL_15_on_loopback()
    {
        await using var connection = new NpgsqlConnection(await postgres.CreateDatabaseAsync());
        await connection.OpenAsync();

        Assert.Contains("PostgreSQL 15", await ScalarAsync<string>(connection, "SELECT version()"), StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", await ScalarAsync<string>(connection, "SELECT host(inet_server_addr())"));
        Assert.Equal(postgres.Server.Port, await ScalarAsync<int>(connection, "SELECT inet_server_port()"));
        Assert.Equal("off", await ScalarAsync<string>(connection, "SHOW fsync"));
        Assert.Equal("on", await ScalarAsync<string>(connection, "SHOW synchronous_commit"));
    }

    [PostgresFact]
    public async Task Fresh_databases_are_isolated()
    {
        string first = await postgres.CreateDatabaseAsync();
        string second = await postgres.CreateDatabaseAsync();
        await using var a = new NpgsqlConnection(first);
        await using var b = new NpgsqlConnection(second);
        await a.OpenAsync();
        await b.OpenAsync();

        await ExecuteAsync(a, "CREATE TABLE outbox (id int PRIMARY KEY); INSERT INTO outbox VALUES (1), (2)");

        Assert.NotEqual(a.Database, b.Database);
        Assert.Equal(2L, await ScalarAsync<long>(a, "SELECT count(*) FROM outbox"));
        Assert.True(await ScalarAsync<bool>(b, "SELECT to_regclass('outbox') IS NULL"), "the table of one database is visible in the other");
    }

    [PostgresFact]
    public async Task Killed_server_refuses_connections_and_restarts_with_its_committed_data()
    {
        using PostgresServerProcess server = PostgresServerProcess.Start(fsync: false);
        string database = await server.CreateDatabaseAsync();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await ExecuteAsync(connection, "CREATE TABLE outbox (id int PRIMARY KEY); INSERT INTO outbox VALUES (1), (2), (3)");
        }

        int killed = server.Pid;
        IReadOnlyList<int> backends = LocalServers.ChildrenOf(killed);
        server.Kill();

        Assert.NotEmpty(backends);
        Assert.False(LocalServers.IsAlive(killed), $"postmaster {killed} survived SIGKILL");
        Assert.DoesNotContain(backends, LocalServers.IsAlive);
        Assert.False(server.IsRunning);
        await Assert.ThrowsAnyAsync<NpgsqlException>(async () =>
        {
            await using var refused = new NpgsqlConnection(database);
            await refused.OpenAsync();
        });

        server.Restart();

        Assert.NotEqual(killed, server.Pid);
        Assert.True(server.IsRunning);
        await using var reopened = new NpgsqlConnection(database);
        await reopened.OpenAsync();
        Assert.Equal(3L, await ScalarAsync<long>(reopened, "SELECT count(*) FROM outbox"));
    }

    [PostgresFact]
    public async Task Stopped_server_shuts_down_cleanly_and_restarts()
    {
        using PostgresServerProcess server = PostgresServerProcess.Start();
        string database = await server.CreateDatabaseAsync();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await ExecuteAsync(connection, "CREATE TABLE outbox (id int PRIMARY KEY); INSERT INTO outbox VALUES (1)");
            Assert.Equal("on", await ScalarAsync<string>(connection, "SHOW fsync"));
        }

        int stopped = server.Pid;
        server.Stop();

        Assert.False(LocalServers.IsAlive(stopped), $"postmaster {stopped} survived SIGINT");
        Assert.False(server.IsRunning);

        server.Restart();

        await using var reopened = new NpgsqlConnection(database);
        await reopened.OpenAsync();
        Assert.Equal(1L, await ScalarAsync<long>(reopened, "SELECT count(*) FROM outbox"));
    }

    [PostgresFact]
    public async Task Dispose_leaves_no_process_and_no_directory()
    {
        PostgresServerProcess server = PostgresServerProcess.Start(fsync: false);
        await using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
        }

        int postmaster = server.Pid;
        IReadOnlyList<int> children = LocalServers.ChildrenOf(postmaster);
        string directory = Path.GetDirectoryName(server.DataDirectory)!;
        Assert.True(LocalServers.IsAlive(postmaster));
        Assert.True(Directory.Exists(directory));

        server.Dispose();

        Assert.NotEmpty(children);
        Assert.False(LocalServers.IsAlive(postmaster), $"postmaster {postmaster} survived Dispose");
        Assert.DoesNotContain(children, LocalServers.IsAlive);
        Assert.False(Directory.Exists(directory), $"{directory} survived Dispose");
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
