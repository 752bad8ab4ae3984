using System.Net;
using Coffre.Server.Hosting;

namespace Coffre.Server.Xks;

/// <summary>
/// Every problem of a "Coffre:Xks" section, with the limits of the XKS proxy API specification (URI path, external key
/// ids, credential shapes), for <see cref="ConfigurationCheck"/>. Messages name settings and lengths, never a secret.
/// </summary>
public static class XksOptionsCheck
{
    /// <summary>The spec's limit on XksProxyUriPath ("/prefix/kms/xks/v1").</summary>
    public const int MaxUriPathLength = 128;
    public const int MaxExternalKeyIdLength = 128;

    public static IEnumerable<string> Problems(XksOptions xks, CoffreServerOptions server)
    {
        var errors = new List<string>();
        void Add(string setting, string problem) => errors.Add($"{CoffreConfiguration.Section}:Xks:{setting}: {problem}");

        var prefixes = new Dictionary<string, int>(StringComparer.Ordinal);
        var accessKeyIds = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < xks.Stores.Count; i++)
        {
            var store = xks.Stores[i];
            var at = $"Stores:{i}";
            var prefix = store.Prefix;
            if (!prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '-' or '_') || prefix.Contains("//"))
                Add($"{at}:UriPrefix", $"'{prefix}' may hold only letters, digits, '/', '-' and '_' (XKS proxy API), without empty segments.");
            else if (store.UriPath.Length > MaxUriPathLength)
                Add($"{at}:UriPrefix", $"the URI path '{store.UriPath}' is longer than the {MaxUriPathLength} characters AWS KMS accepts.");
            if (prefixes.TryGetValue(prefix, out var other))
                Add($"{at}:UriPrefix", $"'{prefix}' is already the prefix of Stores:{other}; each store needs its own.");
            else prefixes[prefix] = i;

            var credentials = store.Credentials.ToList();
            for (var c = 0; c < credentials.Count; c++)
            {
                var where = c == 0 ? at : $"{at}:AdditionalCredentials:{c - 1}";
                var (id, secret) = (credentials[c].AccessKeyId ?? "", credentials[c].SecretAccessKey ?? "");
                if (id.Length is < 20 or > 30 || !id.All(ch => ch is >= 'A' and <= 'Z' or >= '2' and <= '7'))
                    Add($"{where}:AccessKeyId", $"'{id}' is not 20 to 30 characters of A-Z and 2-7 (what AWS KMS accepts as an XKS access key id).");
                else if (accessKeyIds.TryGetValue(id, out var owner))
                    Add($"{where}:AccessKeyId", $"'{id}' is already used by {owner}; an access key id must name one secret.");
                else accessKeyIds[id] = where;
                if (secret.Length is < 43 or > 64 || !secret.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '+' or '/' or '='))
                    Add($"{where}:SecretAccessKey", $"is {secret.Length} characters; AWS KMS takes 43 to 64 Base64 characters (e.g. `openssl rand -base64 32`).");
            }

            foreach (var (externalId, key) in store.Keys)
            {
                var kat = $"{at}:Keys:{externalId}";
                if (externalId.Length is 0 or > MaxExternalKeyIdLength || !externalId.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.' or '_'))
                    Add(kat, $"'{externalId}' is not an external key id (1 to {MaxExternalKeyIdLength} letters, digits, '-', '.', '_').");
                if (string.IsNullOrWhiteSpace(key.Key)) Add($"{kat}:Key", "names no Coffre key.");
                if (key.Usage.Count == 0) Add($"{kat}:Usage", $"is empty: list {XksKeyUsage.Encrypt}, {XksKeyUsage.Decrypt} or both.");
                foreach (var usage in key.Usage.Where(u => u is not (XksKeyUsage.Encrypt or XksKeyUsage.Decrypt)))
                    Add($"{kat}:Usage", $"'{usage}' is not {XksKeyUsage.Encrypt} or {XksKeyUsage.Decrypt}.");
            }
        }

        if (xks.Listen is { } listen)
        {
            try
            {
                var (address, port) = CoffreServer.ParseListen(listen);
                if (!IPAddress.IsLoopback(address) && xks.CertificatePath is null && !server.AllowInsecureHttp)
                    Add("Listen", $"'{listen}' is not a loopback address and AWS KMS calls the proxy over HTTPS only: set Xks:CertificatePath, " +
                        "or AllowInsecureHttp=true if a TLS proxy stands in front.");
                if (port != 0 && server.Listen.EndsWith(":" + port, StringComparison.Ordinal))
                    Add("Listen", $"port {port} is already the main listener's (Coffre:Listen); the XKS listener needs its own.");
            }
            catch (InvalidOperationException e)
            {
                Add("Listen", e.Message);
            }
        }
        if (xks.CertificatePath is { } cert)
        {
            if (xks.Listen is null) Add("CertificatePath", "applies to Xks:Listen, which is not set (the main listener uses Coffre:CertificatePath).");
            if (!File.Exists(cert)) Add("CertificatePath", $"there is no file '{cert}'.");
        }
        if (xks.ClientCertificate is { } client)
        {
            if (xks.Listen is null || xks.CertificatePath is null)
                Add("ClientCertificate", "mutual TLS needs a listener of its own with a certificate: set Xks:Listen and Xks:CertificatePath.");
            if (!File.Exists(client.CaPath)) Add("ClientCertificate:CaPath", $"there is no file '{client.CaPath}'.");
            if (string.IsNullOrWhiteSpace(client.Subject))
                Add("ClientCertificate:Subject", "is empty: AWS KMS presents CN=cks.kms.REGION.amazonaws.com.");
        }
        if (xks.FleetSize < 1) Add("FleetSize", $"{xks.FleetSize} is not a number of instances (1 or more).");
        if (!xks.Enabled && xks.Listen is not null) Add("Stores", "Xks:Listen is set but no store is configured.");
        return errors;
    }
}
