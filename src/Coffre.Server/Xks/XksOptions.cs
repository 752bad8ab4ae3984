namespace Coffre.Server.Xks;

/// <summary>
/// The "Coffre:Xks" section: the AWS KMS External Key Store proxy face. Each store is one external key store as AWS KMS
/// sees it (CreateCustomKeyStore): its URI path prefix, the SigV4 credentials KMS signs with, and the external key ids
/// it may use, each mapped to a Coffre key.
/// </summary>
public sealed class XksOptions
{
    public List<XksStoreOptions> Stores { get; set; } = [];

    /// <summary>A listener of its own (HOST:PORT) for the face, so that it can require AWS KMS's client certificate
    /// without asking it of S3 clients; null serves the face on the main listener (Coffre:Listen).</summary>
    public string? Listen { get; set; }

    /// <summary>PFX/PKCS#12 server certificate of <see cref="Listen"/> (AWS KMS calls the proxy over HTTPS only) and its password.</summary>
    public string? CertificatePath { get; set; }
    public string? CertificatePassword { get; set; }

    /// <summary>Mutual TLS on <see cref="Listen"/>: when set, the handshake fails unless the client presents a certificate
    /// chained to this CA with this subject common name.</summary>
    public XksClientCertificateOptions? ClientCertificate { get; set; }

    /// <summary>How many Coffre instances serve this face (the health answer's xksProxyFleetSize).</summary>
    public int FleetSize { get; set; } = 1;

    public bool Enabled => Stores.Count > 0;
}

public sealed class XksStoreOptions
{
    /// <summary>The optional path prefix before /kms/xks/v1 ("" for none), without leading or trailing '/'.</summary>
    public string UriPrefix { get; set; } = "";

    /// <summary>The SigV4 credentials AWS KMS signs with (the key store's XksProxyAuthenticationCredential).</summary>
    public string AccessKeyId { get; set; } = "";
    public string SecretAccessKey { get; set; } = "";

    /// <summary>Further credentials accepted for this store, so that they can be rotated without a refused request:
    /// add the new pair, update the key store in AWS KMS, then remove the old one.</summary>
    public List<XksCredentialOptions> AdditionalCredentials { get; set; } = [];

    /// <summary>External key id (as given to AWS KMS CreateKey) → the Coffre key and what AWS KMS may do with it.</summary>
    public Dictionary<string, XksKeyOptions> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The XksProxyUriPath to give AWS KMS: "/{UriPrefix}/kms/xks/v1".</summary>
    public string UriPath => (Prefix.Length == 0 ? "" : "/" + Prefix) + XksRoute.Base;

    /// <summary><see cref="UriPrefix"/> without the slashes an operator may write around it.</summary>
    public string Prefix => (UriPrefix ?? "").Trim('/');

    public IEnumerable<XksCredentialOptions> Credentials =>
        [new XksCredentialOptions { AccessKeyId = AccessKeyId, SecretAccessKey = SecretAccessKey }, .. AdditionalCredentials];
}

public sealed class XksCredentialOptions
{
    public string AccessKeyId { get; set; } = "";
    public string SecretAccessKey { get; set; } = "";
}

public sealed class XksKeyOptions
{
    /// <summary>The Coffre key (name, alias or id).</summary>
    public string Key { get; set; } = "";

    /// <summary>"ENCRYPT" and/or "DECRYPT": what the external key may be used for (a key restricted to one use answers
    /// InvalidKeyUsageException to the other).</summary>
    public List<string> Usage { get; set; } = [XksKeyUsage.Encrypt, XksKeyUsage.Decrypt];
}

public sealed class XksClientCertificateOptions
{
    /// <summary>PEM file of the certificate authorities a client certificate must chain to (for AWS KMS: Amazon Trust Services).</summary>
    public string CaPath { get; set; } = "";

    /// <summary>The client certificate's subject common name (for AWS KMS: cks.kms.REGION.amazonaws.com).</summary>
    public string Subject { get; set; } = "";
}

public static class XksKeyUsage
{
    public const string Encrypt = "ENCRYPT";
    public const string Decrypt = "DECRYPT";
}
