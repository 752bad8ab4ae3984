using System.Security.Cryptography.X509Certificates;
using Coffre.Server.Hosting;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Coffre.Server.Xks;

/// <summary>
/// The XKS face's own Kestrel listener (Coffre:Xks:Listen): HTTPS with the configured certificate and, when
/// Coffre:Xks:ClientCertificate is set, mutual TLS that ends the handshake unless the client's certificate chains to the
/// configured CA and carries the configured subject common name (AWS KMS: CN=cks.kms.REGION.amazonaws.com), as the
/// spec requires. Connections accepted here are marked, so that the face answers them and nothing else does.
/// </summary>
public static class XksListener
{
    private const string Marker = "coffre.xks-listener";

    public static void Configure(KestrelServerOptions kestrel, XksOptions options)
    {
        if (options.Listen is null) return;
        var (address, port) = CoffreServer.ParseListen(options.Listen);
        kestrel.Listen(address, port, l =>
        {
            l.Use(next => connection =>
            {
                connection.Items[Marker] = true;
                return next(connection);
            });
            if (options.CertificatePath is not { } cert) return;
            var https = new HttpsConnectionAdapterOptions
            {
                ServerCertificate = X509CertificateLoader.LoadPkcs12FromFile(cert, options.CertificatePassword),
            };
            if (options.ClientCertificate is { } client)
            {
                var authorities = new X509Certificate2Collection();
                authorities.ImportFromPemFile(client.CaPath);
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (certificate, sent, _) => IsAllowed(certificate, sent, authorities, client.Subject);
            }
            l.UseHttps(https);
        });
    }

    /// <summary>Whether the client certificate chains to one of <paramref name="authorities"/> (and only them: the system's
    /// roots are not trusted here), through the intermediates the client sent, and its subject common name is <paramref name="subject"/>.</summary>
    public static bool IsAllowed(X509Certificate2 certificate, X509Chain? sent, X509Certificate2Collection authorities, string subject)
    {
        if (!string.Equals(certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false), subject, StringComparison.OrdinalIgnoreCase))
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        if (sent is not null)
            foreach (var element in sent.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        // Revocation lists of a private CA are seldom reachable from the proxy; AWS's own CAs are checked the same way.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // client authentication
        return chain.Build(certificate);
    }

    public static bool IsXksConnection(HttpContext http) =>
        http.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(Marker) == true;
}
