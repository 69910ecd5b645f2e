using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>
/// A private PostgreSQL server (Debian's <c>postgresql</c> binaries) in a temporary data directory on a free loopback
/// port, stopped by its postmaster's pid. As root, <c>initdb</c> and <c>postgres</c> run as the <c>postgres</c> user
/// through <c>runuser</c> (they refuse to run as root); <c>runuser</c> forks, so the postmaster's pid is read from
/// <c>postmaster.pid</c> and checked to be <c>runuser</c>'s child.
/// </summary>
public sealed class PostgresServerProcess : IDisposable
{
    private const string ServerUser = "postgres";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);
    private static readonly Lazy<string?> Unavailability = new(FindUnavailability);

    private readonly string _binDirectory;
    private readonly string _root;
    private readonly bool _fsync;
    private readonly bool _asServerUser = Environment.IsPrivilegedProcess;
    private readonly Queue<string> _log = new();
    private readonly List<string> _databaseConnectionStrings = [];
    private Process? _launcher;
    private bool _disposed;

    private PostgresServerProcess(string binDirectory, bool fsync)
    {
        _binDirectory = binDirectory;
        _fsync = fsync;
        _root = Path.Combine(Path.GetTempPath(), $"pg-{Guid.NewGuid():N}");
    }

    /// <summary>The postmaster's pid (the last one, once stopped).</summary>
    public int Pid { get; private set; }

    public int Port { get; private set; }

    /// <summary>The cluster's data directory; it outlives <see cref="Kill"/> and <see cref="Stop"/>, not <see cref="Dispose"/>.</summary>
    public string DataDirectory => Path.Combine(_root, "data");

    /// <summary>True while the postmaster runs.</summary>
    public bool IsRunning => _launcher is { HasExited: false } && LocalServers.IsAlive(Pid);

    /// <summary>The <c>postgres</c> database as the <c>postgres</c> superuser over TCP on loopback (trust authentication), pooled.</summary>
    public string ConnectionString => ConnectionStringFor("postgres");

    /// <summary>
    /// The folder of Debian's server binaries: <c>POSTGRES_BIN_DIR</c> if set; else <c>pg_config --bindir</c> when it holds
    /// <c>initdb</c> and <c>postgres</c> (Debian's <c>pg_config</c> comes with libpq-dev and may name a client-only
    /// version); else the newest <c>/usr/lib/postgresql/N/bin</c> that does. Null when there is none.
    /// </summary>
    public static string? FindBinDirectory()
    {
        if (Environment.GetEnvironmentVariable("POSTGRES_BIN_DIR") is { Length: > 0 } configured)
        {
            return HasServerBinaries(configured) ? configured : null;
        }

        if (PgConfigBinDirectory() is { } fromPgConfig && HasServerBinaries(fromPgConfig))
        {
            return fromPgConfig;
        }

        return !Directory.Exists("/usr/lib/postgresql")
            ? null
            : Directory.EnumerateDirectories("/usr/lib/postgresql")
                .Select(d => (Directory: Path.Combine(d, "bin"), Version: Version.TryParse(Path.GetFileName(d) + ".0", out Version? v) ? v : null))
                .Where(c => c.Version is not null && HasServerBinaries(c.Directory))
                .OrderByDescending(c => c.Version)
                .Select(c => c.Directory)
                .FirstOrDefault();
    }

    /// <summary>Why no server can be started here and how to get one, or null when one can (looked up once per test run).</summary>
    public static string? UnavailableMessage() => Unavailability.Value;

    /// <summary>
    /// Creates a cluster in a new temporary directory (<c>initdb</c>, trust authentication, superuser <c>postgres</c>) and
    /// starts it, waiting until it accepts connections. <paramref name="fsync"/> false turns off <c>fsync</c> and
    /// <c>full_page_writes</c>, which only matter when the operating system itself crashes; <c>synchronous_commit</c> stays
    /// on either way, so a transaction whose commit returned survives <see cref="Kill"/> (crash tests rely on it).
    /// </summary>
    public static PostgresServerProcess Start(bool fsync = true)
    {
        if (Unavailability.Value is { } unavailable)
        {
            throw new InvalidOperationException(unavailable);
        }

        var server = new PostgresServerProcess(FindBinDirectory()!, fsync);
        LocalServers.DisposeAtExit(server);

        try
        {
            server.CreateCluster();
            // The port was free when the OS handed it out; another process may take it before postgres binds it.
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    server.Launch(LocalServers.FreePort());
                    return server;
                }
                catch (PostgresStartException) when (attempt < 3)
                {
                }
            }
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Creates a database with a fresh name and returns its connection string (pooled, like <see cref="ConnectionString"/>).</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        string name = $"test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        string connectionString = ConnectionStringFor(name);
        lock (_databaseConnectionStrings)
        {
            _databaseConnectionStrings.Add(connectionString);
        }

        return connectionString;
    }

    /// <summary>
    /// Crashes the server: SIGKILL, by pid, to the postmaster and every process it forked (it is frozen first so it forks
    /// no new one meanwhile), then waits until they are gone. The data directory stays for <see cref="Restart"/>.
    /// </summary>
    public void Kill()
    {
        if (!IsRunning)
        {
            return;
        }

        LocalServers.Signal(Pid, UnixSignal.Stop);
        IReadOnlyList<int> children = LocalServers.ChildrenOf(Pid);
        foreach (int child in children)
        {
            LocalServers.Signal(child, UnixSignal.Kill);
        }

        LocalServers.Signal(Pid, UnixSignal.Kill);
        if (_asServerUser)
        {
            // runuser stops itself when its child stops (job control) and would never reap the killed postmaster.
            LocalServers.Signal(_launcher!.Id, UnixSignal.Continue);
        }

        WaitUntilStopped(children, "SIGKILL");
    }

    /// <summary>Shuts the server down cleanly (SIGINT, PostgreSQL's fast shutdown, by pid) and waits; kills it if it takes longer than 30 s.</summary>
    public void Stop()
    {
        if (!IsRunning)
        {
            return;
        }

        IReadOnlyList<int> children = LocalServers.ChildrenOf(Pid);
        LocalServers.Signal(Pid, UnixSignal.Interrupt);
        if (!LocalServers.WaitUntilGone([Pid], StopTimeout))
        {
            Kill();
            return;
        }

        WaitUntilStopped(children, "SIGINT");
    }

    /// <summary>Starts the server again on the same data directory and port (stopping it first if it runs): a new postmaster pid, the same data.</summary>
    public void Restart()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Stop();
        Launch(Port);
    }

    /// <summary>Kills the server (by pid) and deletes its temporary directory.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            Kill();
        }
        finally
        {
            _launcher?.Dispose();
            LocalServers.Forget(this);

            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    private string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = ServerUser,
        Database = database,
        Pooling = true,
        MaxPoolSize = 20,
        // Each test database has its own pool: idle connections are closed soon so they do not pile up to max_connections.
        ConnectionIdleLifetime = 5,
        ConnectionPruningInterval = 1,
        Timeout = 5,
        CommandTimeout = 30,
        IncludeErrorDetail = true,
    }.ConnectionString;

    private void CreateCluster()
    {
        // The server's user owns the folder: initdb creates the data directory in it (mode 0700), postgres its socket.
        Directory.CreateDirectory(_root);
        if (_asServerUser)
        {
            RunToEnd("chown", [$"{ServerUser}:", _root]);
        }

        // --no-locale: the C locale exists everywhere; --no-sync: a test cluster need not survive a power cut.
        RunToEnd(Path.Combine(_binDirectory, "initdb"), ["-D", DataDirectory, "-A", "trust", "-U", ServerUser, "-E", "UTF8", "--no-locale", "--no-sync"], asServerUser: true);
    }

    private void Launch(int port)
    {
        Port = port;
        var arguments = new List<string>
        {
            "-D", DataDirectory, "-p", port.ToString(CultureInfo.InvariantCulture), "-k", _root,
            "-c", "listen_addresses=127.0.0.1",
        };
        if (!_fsync)
        {
            arguments.AddRange(["-c", "fsync=off", "-c", "full_page_writes=off"]);
        }

        _launcher?.Dispose();
        lock (_log)
        {
            _log.Clear();
        }

        _launcher = Process.Start(StartInfo(Path.Combine(_binDirectory, "postgres"), arguments, asServerUser: true))
            ?? throw new InvalidOperationException("postgres did not start");
        _launcher.OutputDataReceived += (_, e) => Remember(e.Data);
        _launcher.ErrorDataReceived += (_, e) => Remember(e.Data);
        _launcher.BeginOutputReadLine();
        _launcher.BeginErrorReadLine();

        DateTime deadline = DateTime.UtcNow + StartTimeout;
        while (!Answers())
        {
            if (_launcher.HasExited)
            {
                throw new PostgresStartException($"postgres exited with code {_launcher.ExitCode} on port {port}:{Environment.NewLine}{LogTail()}");
            }

            if (DateTime.UtcNow > deadline)
            {
                KillStartingServer();
                throw new InvalidOperationException($"postgres did not accept connections on port {port} within {StartTimeout.TotalSeconds} s:{Environment.NewLine}{LogTail()}");
            }

            Thread.Sleep(50);
        }

        // Read only once it answers: by then postmaster.pid is this postmaster's, not a killed predecessor's.
        Pid = PostmasterPid() ?? throw new InvalidOperationException($"no postmaster pid in {DataDirectory}/postmaster.pid that is a child of {_launcher.Id}");
        LocalServers.RecordPid(Pid);
    }

    private bool Answers()
    {
        var probe = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false, Timeout = 1 };
        try
        {
            using var connection = new NpgsqlConnection(probe.ConnectionString);
            connection.Open();
            using var command = new NpgsqlCommand("SELECT 1", connection);
            return command.ExecuteScalar() is 1;
        }
        catch (NpgsqlException)
        {
            return false; // refused, or "the database system is starting up"
        }
    }

    private int? PostmasterPid()
    {
        string? firstLine = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
        if (!int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            return null;
        }

        bool ours = _asServerUser ? LocalServers.ChildrenOf(_launcher!.Id).Contains(pid) : pid == _launcher!.Id;
        return ours ? pid : null;
    }

    // A postmaster that never answered: its pid comes from runuser's children, not from a postmaster.pid it may not have written.
    private void KillStartingServer()
    {
        int launcher = _launcher!.Id;
        IReadOnlyList<int> postmasters = _asServerUser ? LocalServers.ChildrenOf(launcher) : [launcher];
        foreach (int postmaster in postmasters)
        {
            Pid = postmaster;
            Kill();
        }
    }

    private void WaitUntilStopped(IReadOnlyList<int> children, string how)
    {
        if (!LocalServers.WaitUntilGone([Pid, .. children], StopTimeout) || !_launcher!.WaitForExit(StopTimeout))
        {
            throw new InvalidOperationException($"postgres (pid {Pid}) still runs {StopTimeout.TotalSeconds} s after {how}");
        }

        // Pooled connections to the old postmaster are dead: without this the next open would hand one out.
        NpgsqlConnection.ClearPool(new NpgsqlConnection(ConnectionString));
        lock (_databaseConnectionStrings)
        {
            foreach (string connectionString in _databaseConnectionStrings)
            {
                NpgsqlConnection.ClearPool(new NpgsqlConnection(connectionString));
            }
        }
    }

    private void RunToEnd(string fileName, IEnumerable<string> arguments, bool asServerUser = false)
    {
        using Process process = Process.Start(StartInfo(fileName, arguments, asServerUser))
            ?? throw new InvalidOperationException($"{fileName} did not start");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(StartTimeout))
        {
            process.Kill();
            throw new InvalidOperationException($"{fileName} did not finish within {StartTimeout.TotalSeconds} s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} failed with {process.ExitCode}:{Environment.NewLine}{output.Result}{error.Result}");
        }
    }

    private ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, bool asServerUser)
    {
        bool viaRunuser = asServerUser && _asServerUser;
        var start = new ProcessStartInfo(viaRunuser ? "runuser" : fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        IEnumerable<string> all = viaRunuser ? ["-u", ServerUser, "--", fileName, .. arguments] : arguments;
        foreach (string argument in all)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Enqueue(line);
            if (_log.Count > 40)
            {
                _log.Dequeue();
            }
        }
    }

    private string LogTail()
    {
        lock (_log)
        {
            return string.Join(Environment.NewLine, _log);
        }
    }

    private static bool HasServerBinaries(string directory) =>
        File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "postgres"));

    private static string? PgConfigBinDirectory()
    {
        if (LocalServers.FindOnPath("pg_config") is not { } pgConfig)
        {
            return null;
        }

        using Process process = Process.Start(new ProcessStartInfo(pgConfig, "--bindir") { RedirectStandardOutput = true, UseShellExecute = false })!;
        string output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0 && output.Length > 0 ? output : null;
    }

    private static string? FindUnavailability()
    {
        string? reason = FindBinDirectory() is null
            ? "no server binaries (initdb, postgres) in POSTGRES_BIN_DIR, pg_config --bindir or /usr/lib/postgresql/*/bin"
            : Environment.IsPrivilegedProcess && LocalServers.FindOnPath("runuser") is null
                ? "running as root without runuser; initdb and postgres refuse to run as root"
                : null;
        return reason is null
            ? null
            : LocalServers.Unavailable("PostgreSQL", reason, "install Debian's postgresql package (./build.sh test does) or set POSTGRES_BIN_DIR.").Message;
    }

    /// <summary>The postmaster exited before it accepted connections (typically: its port was taken meanwhile).</summary>
    private sealed class PostgresStartException(string message) : InvalidOperationException(message);
}
