using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>Linux signal numbers (x86-64 and arm64) the tests send to the servers they started.</summary>
internal enum UnixSignal
{
    Interrupt = 2,
    Kill = 9,
    Terminate = 15,
    Continue = 18,
    Stop = 19,
}

/// <summary>
/// What every private server the tests start (redis-server, postgres) shares: a free loopback port, binaries found on
/// PATH, signals and liveness by pid (never by name), the pid record build.sh reads, and the wording when a server is
/// unavailable.
/// </summary>
internal static class LocalServers
{
    private const int NoSuchProcess = 3; // ESRCH
    private static readonly List<IDisposable> Running = [];

    static LocalServers()
    {
        // Whatever a failing fixture forgot, nothing started here outlives the test run.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            IDisposable[] left;
            lock (Running)
            {
                left = [.. Running];
            }

            foreach (IDisposable server in left)
            {
                server.Dispose();
            }
        };
    }

    /// <summary>True when the tests run in CI (<c>CI=true</c>), where a missing server must fail the run.</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>A port the OS has just handed out on loopback (its ephemeral range), free at the time of asking.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>
    /// A free port for a Redis Cluster node, whose bus listens on the port + 10,000: both below the kernel's ephemeral
    /// range, so neither can exceed 65,535 (an ephemeral port above 55,535 makes redis-server refuse to start) nor be
    /// taken meanwhile by an outgoing connection. Both were free at the time of asking.
    /// </summary>
    public static int FreeClusterPort()
    {
        int ephemeralLow = 32_768;
        if (File.Exists("/proc/sys/net/ipv4/ip_local_port_range")
            && int.TryParse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], NumberStyles.None, CultureInfo.InvariantCulture, out int low))
        {
            ephemeralLow = low;
        }

        int top = Math.Max(ephemeralLow - 10_000, 11_000);
        for (int attempt = 0; attempt < 100; attempt++)
        {
            int port = Random.Shared.Next(10_000, top);
            if (IsFree(port) && IsFree(port + 10_000))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free port pair (p, p + 10000) for a cluster node in [10000, {top})");
    }

    private static bool IsFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The first file called <paramref name="name"/> on PATH or in the usual binary folders.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/local/bin", "/usr/sbin"])
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when no such process exists (any other failure throws).</summary>
    public static bool Signal(int pid, UnixSignal signal)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        if (SendSignal(pid, (int)signal) == 0)
        {
            return true;
        }

        int error = Marshal.GetLastPInvokeError();
        return error == NoSuchProcess
            ? false
            : throw new InvalidOperationException($"kill -{signal} {pid} failed with errno {error}");
    }

    /// <summary>True while <paramref name="pid"/> runs (a zombie, dead but not yet reaped by its parent, does not count).</summary>
    public static bool IsAlive(int pid)
    {
        string? stat = ReadStat(pid);
        return stat is not null && StatFields(stat)[0] != "Z";
    }

    /// <summary>The live processes whose parent is <paramref name="pid"/>.</summary>
    public static IReadOnlyList<int> ChildrenOf(int pid)
    {
        var children = new List<int>();
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out int candidate)
                && ReadStat(candidate) is { } stat
                && StatFields(stat) is [not "Z", string parent, ..]
                && parent == pid.ToString(CultureInfo.InvariantCulture))
            {
                children.Add(candidate);
            }
        }

        return children;
    }

    /// <summary>Polls until none of <paramref name="pids"/> is alive; false when some still are at the deadline.</summary>
    public static bool WaitUntilGone(IEnumerable<int> pids, TimeSpan timeout)
    {
        int[] watched = pids.ToArray();
        DateTime deadline = DateTime.UtcNow + timeout;
        while (watched.Any(IsAlive))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            Thread.Sleep(10);
        }

        return true;
    }

    /// <summary>Disposes <paramref name="server"/> when the test process exits, unless it was <see cref="Forget"/>-ten before.</summary>
    public static void DisposeAtExit(IDisposable server)
    {
        lock (Running)
        {
            Running.Add(server);
        }
    }

    /// <summary>Takes a disposed server off the list <see cref="DisposeAtExit"/> keeps.</summary>
    public static void Forget(IDisposable server)
    {
        lock (Running)
        {
            Running.Remove(server);
        }
    }

    /// <summary>
    /// Records a started server's pid in the folder build.sh passes (<c>CACHEINVALIDATION_TEST_PIDS</c>), so the script can
    /// stop what a torn-down test host could not.
    /// </summary>
    public static void RecordPid(int pid)
    {
        if (Environment.GetEnvironmentVariable("CACHEINVALIDATION_TEST_PIDS") is { Length: > 0 } pidFolder && Directory.Exists(pidFolder))
        {
            File.WriteAllText(Path.Combine(pidFolder, $"{pid}.pid"), pid.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The exception for a server that cannot be had, saying how to get one (and that CI fails without it).</summary>
    public static InvalidOperationException Unavailable(string server, string reason, string remedy) =>
        new($"{server} unavailable ({reason}): {remedy}" + (InCi ? $" CI=true: a missing {server} fails the run." : string.Empty));

    // /proc/<pid>/stat is "pid (comm) state ppid …"; comm may hold spaces and parentheses, so fields start after the last ')'.
    private static string[] StatFields(string stat) =>
        stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string? ReadStat(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // gone (or going) between listing and reading
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
