using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>A private <c>redis-server</c> on a free loopback port, stopped by its pid when disposed.</summary>
public sealed class RedisServerProcess : IDisposable
{
    private readonly Process _process;
    private bool _disposed;

    private RedisServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Pid => _process.Id;

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>
    /// Starts a server (no persistence) with extra arguments, e.g. <c>--maxmemory 2mb</c>, and waits until it answers PING.
    /// A server that exits at once (its port taken between choosing and binding) is started again on another port.
    /// </summary>
    public static RedisServerProcess Start(params string[] extraArguments)
    {
        bool cluster = extraArguments.Contains("--cluster-enabled");
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return StartOn(cluster ? LocalServers.FreeClusterPort() : LocalServers.FreePort(), extraArguments);
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("exited with code", StringComparison.Ordinal))
            {
            }
        }
    }

    /// <summary>Freezes the server (SIGSTOP, by pid): connections stay open, nothing is answered.</summary>
    public void Pause() => Signal(UnixSignal.Stop);

    /// <summary>Lets a paused server go on (SIGCONT, by pid).</summary>
    public void Resume() => Signal(UnixSignal.Continue);

    /// <summary>Starts an empty server on the same port as this stopped one (as after a restart without persistence).</summary>
    public RedisServerProcess RestartEmpty()
    {
        Dispose();
        return StartOn(Port);
    }

    private void Signal(UnixSignal signal)
    {
        if (!LocalServers.Signal(_process.Id, signal))
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id}: the server is gone");
        }
    }

    private static RedisServerProcess StartOn(int port, params string[] extraArguments)
    {
        string binary = LocalServers.FindOnPath("redis-server") ?? throw Unavailable("no redis-server binary on PATH");
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
        LocalServers.DisposeAtExit(server);
        LocalServers.RecordPid(process.Id);

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
        LocalServers.Forget(this);
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

    private static InvalidOperationException Unavailable(string reason) =>
        LocalServers.Unavailable("Redis", reason, "install redis-server (./build.sh test does) or set REDIS_URL.");
}
