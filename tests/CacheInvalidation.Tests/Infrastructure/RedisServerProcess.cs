using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>A private <c>redis-server</c> on a free loopback port, stopped by its pid when disposed.</summary>
public sealed class RedisServerProcess : IDisposable
{
    private static readonly List<RedisServerProcess> Started = [];
    private readonly Process _process;
    private bool _disposed;

    static RedisServerProcess()
    {
        // Whatever a failing fixture forgot, nothing started here outlives the test run.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            lock (Started)
            {
                foreach (RedisServerProcess server in Started.ToArray())
                {
                    server.Dispose();
                }
            }
        };
    }

    private RedisServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Pid => _process.Id;

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Starts a server (no persistence) with extra arguments, e.g. <c>--maxmemory 2mb</c>, and waits until it answers PING.</summary>
    public static RedisServerProcess Start(params string[] extraArguments) => StartOn(FreePort(), extraArguments);

    /// <summary>Freezes the server (SIGSTOP, by pid): connections stay open, nothing is answered.</summary>
    public void Pause() => Signal("STOP");

    /// <summary>Lets a paused server go on (SIGCONT, by pid).</summary>
    public void Resume() => Signal("CONT");

    /// <summary>Starts an empty server on the same port as this stopped one (as after a restart without persistence).</summary>
    public RedisServerProcess RestartEmpty()
    {
        Dispose();
        return StartOn(Port);
    }

    private void Signal(string signal)
    {
        using Process kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed with {kill.ExitCode}");
        }
    }

    private static RedisServerProcess StartOn(int port, params string[] extraArguments)
    {
        string binary = FindBinary() ?? throw Unavailable("no redis-server binary on PATH");
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" }.Concat(extraArguments))
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw Unavailable("redis-server did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServerProcess(process, port);
        lock (Started)
        {
            Started.Add(server);
        }

        // build.sh passes a folder: every pid is recorded there, so the script can stop what a torn-down test host
        // could not.
        if (Environment.GetEnvironmentVariable("CACHEINVALIDATION_TEST_PIDS") is { Length: > 0 } pidFolder && Directory.Exists(pidFolder))
        {
            File.WriteAllText(Path.Combine(pidFolder, $"{process.Id}.pid"), process.Id.ToString(CultureInfo.InvariantCulture));
        }

        DateTime deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw Unavailable($"redis-server exited with code {process.ExitCode}");
            }

            if (Answers(port))
            {
                return server;
            }

            Thread.Sleep(50);
        }

        server.Dispose();
        throw Unavailable($"redis-server did not answer on port {port} within 15 s");
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
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

    private static string? FindBinary()
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
