using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Coffre.TestSupport;

/// <summary>
/// Debian's nginx running the load-balancer configuration Coffre ships (deploy/nginx/coffre.conf),
/// with only its upstream servers and listen port rewritten, in a temporary prefix on 127.0.0.1.
/// </summary>
public sealed partial class NginxServer : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private NginxServer(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The master process (its workers are its children): benchmarks read their CPU time from /proc.</summary>
    public int ProcessId => _process.Id;

    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>Starts nginx with the shipped configuration in front of <paramref name="upstreamPorts"/> on 127.0.0.1.</summary>
    public static NginxServer Start(IReadOnlyList<int> upstreamPorts)
    {
        var nginx = File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : Tools.RequireExecutable("nginx", "apt-get install nginx-light");
        var repo = Tools.FindRepositoryRoot() ?? throw new InvalidOperationException("Coffre.sln not found above the test assembly");
        var site = File.ReadAllText(Path.Combine(repo, "deploy", "nginx", "coffre.conf"));
        var port = LoopbackPort.Free();

        // The shipped file names two example instances; the test's instances replace them.
        var servers = ServerLine().Matches(site);
        if (servers.Count == 0) throw new InvalidOperationException("deploy/nginx/coffre.conf has no upstream server lines");
        var options = servers[0].Groups["options"].Value;
        var upstream = string.Join("\n", upstreamPorts.Select(p => $"    server 127.0.0.1:{p}{options};"));
        site = site[..servers[0].Index] + upstream + site[(servers[^1].Index + servers[^1].Length)..];
        site = ListenLine().Replace(site, $"    listen 127.0.0.1:{port};", 1);
        return Launch(nginx, port, _ => site);
    }

    /// <summary>
    /// Starts nginx with a site of the caller's (given the port to listen on and nginx's own temporary directory), e.g.
    /// static files or WebDAV for the data-path benchmark's comparison.
    /// </summary>
    public static NginxServer StartSite(Func<int, string, string> site)
    {
        var nginx = File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : Tools.RequireExecutable("nginx", "apt-get install nginx-light");
        var port = LoopbackPort.Free();
        return Launch(nginx, port, dir => site(port, dir));
    }

    private static NginxServer Launch(string nginx, int port, Func<string, string> site)
    {
        var dir = Directory.CreateTempSubdirectory("coffre-nginx-").FullName;
        File.WriteAllText(Path.Combine(dir, "coffre.conf"), site(dir));
        File.WriteAllText(Path.Combine(dir, "nginx.conf"), $$"""
            daemon off;
            master_process on;
            worker_processes 2;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path {{dir}}/body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
                include {{dir}}/coffre.conf;
            }
            """);
        var psi = new ProcessStartInfo(nginx, ["-p", dir, "-c", Path.Combine(dir, "nginx.conf")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start nginx");
        var server = new NginxServer(process, dir, port);
        server.WaitUntilListening();
        return server;
    }

    /// <summary>nginx's error log (upstream failures show there).</summary>
    public string ErrorLog => File.Exists(Path.Combine(_dir, "error.log")) ? File.ReadAllText(Path.Combine(_dir, "error.log")) : "";

    private void WaitUntilListening()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"nginx exited with {_process.ExitCode}: {_process.StandardError.ReadToEnd()} {ErrorLog}");
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }
        Dispose();
        throw new TimeoutException("nginx did not listen within 20 s: " + ErrorLog);
    }


    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
        _process.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [GeneratedRegex(@"^\s*server\s+[0-9.]+:\d+(?<options>[^;]*);[^\n]*\n?", RegexOptions.Multiline)]
    private static partial Regex ServerLine();

    [GeneratedRegex(@"^\s*listen\s+80;", RegexOptions.Multiline)]
    private static partial Regex ListenLine();
}
