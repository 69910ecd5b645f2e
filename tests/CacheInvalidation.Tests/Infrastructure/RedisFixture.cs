using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;
using Testcontainers.Redis;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>
/// A real Redis for the tests: <c>REDIS_URL</c> if set; else a Testcontainers Redis when a Docker engine answers; else
/// the <c>redis-server</c> binary on a free loopback port, stopped by its pid. There is no silent skip: without a
/// Redis every test that needs one fails with a message saying how to get one.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private Process? _server;
    private RedisContainer? _container;
    private ConnectionMultiplexer? _admin;

    /// <summary><c>host:port</c> of the Redis under test.</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>A connection with admin commands allowed (INFO, CONFIG, FLUSHALL).</summary>
    public IConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException("The Redis fixture is not initialized.");

    public async Task InitializeAsync()
    {
        ConnectionString = Environment.GetEnvironmentVariable("REDIS_URL") is { Length: > 0 } url
            ? url
            : await StartContainerAsync() ?? StartServer();
        _admin = await ConnectionMultiplexer.ConnectAsync(ConnectionString + ",allowAdmin=true");
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        if (_server is { HasExited: false })
        {
            _server.Kill();
            await _server.WaitForExitAsync();
        }

        _server?.Dispose();
    }

    public async Task FlushAsync()
    {
        foreach (EndPoint endpoint in Admin.GetEndPoints())
        {
            IServer server = Admin.GetServer(endpoint);
            if (!server.IsReplica)
            {
                await server.FlushAllDatabasesAsync();
            }
        }
    }

    public async Task ResetStatsAsync()
    {
        foreach (EndPoint endpoint in Admin.GetEndPoints())
        {
            await Admin.GetServer(endpoint).ConfigResetStatisticsAsync();
        }
    }

    /// <summary>Calls per command (<c>evalsha</c>, <c>get</c>, <c>config|resetstat</c>) summed over every endpoint, from INFO commandstats.</summary>
    public async Task<IReadOnlyDictionary<string, long>> CommandStatsAsync()
    {
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (EndPoint endpoint in Admin.GetEndPoints())
        {
            foreach (IGrouping<string, KeyValuePair<string, string>> section in await Admin.GetServer(endpoint).InfoAsync("commandstats"))
            {
                foreach ((string name, string value) in section)
                {
                    // cmdstat_evalsha:calls=3,usec=...,usec_per_call=...
                    string command = name.StartsWith("cmdstat_", StringComparison.Ordinal) ? name["cmdstat_".Length..] : name;
                    string first = value.Split(',')[0];
                    if (first.StartsWith("calls=", StringComparison.Ordinal))
                    {
                        calls[command] = calls.GetValueOrDefault(command) + long.Parse(first["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
                    }
                }
            }
        }

        return calls;
    }

    public async Task<long> CommandCallsAsync(string command) =>
        (await CommandStatsAsync()).GetValueOrDefault(command);

    private async Task<string?> StartContainerAsync()
    {
        // Only worth trying where a Docker engine can answer; without one Testcontainers would only time out.
        if (Environment.GetEnvironmentVariable("DOCKER_HOST") is not { Length: > 0 } && !File.Exists("/var/run/docker.sock"))
        {
            return null;
        }

        try
        {
            var container = new RedisBuilder("redis:7.0").Build();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await container.StartAsync(timeout.Token);
            _container = container;
            return container.GetConnectionString();
        }
#pragma warning disable CA1031 // Any failure here means "no usable engine": fall back to the binary.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    private string StartServer()
    {
        string binary = FindServerBinary() ?? throw Unavailable("no redis-server binary on PATH");
        int port = FreePort();
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        _server = Process.Start(start) ?? throw Unavailable("redis-server did not start");
        _server.OutputDataReceived += (_, _) => { };
        _server.ErrorDataReceived += (_, _) => { };
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();

        string connection = $"127.0.0.1:{port}";
        DateTime deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_server.HasExited)
            {
                throw Unavailable($"redis-server exited with code {_server.ExitCode}");
            }

            if (Answers(port))
            {
                return connection;
            }

            Thread.Sleep(50);
        }

        throw Unavailable($"redis-server did not answer on port {port} within 15 s");
    }

    private static bool Answers(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            using NetworkStream stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buffer = new byte[7];
            int read = stream.Read(buffer);
            return read >= 5 && buffer.AsSpan(0, 5).SequenceEqual("+PONG"u8);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string? FindServerBinary()
    {
        IEnumerable<string> directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/local/bin", "/usr/sbin"]);
        return directories.Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);
    }

    private static InvalidOperationException Unavailable(string reason)
    {
        bool ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        return new InvalidOperationException(
            $"Redis unavailable ({reason}): install redis-server (./build.sh test does) or set REDIS_URL." +
            (ci ? " CI=true: a missing Redis fails the run." : string.Empty));
    }
}
