namespace Coffre.Server.Ekm;

/// <summary>The Key Access Justifications reason codes (Cloud KMS's AccessReason enum, google.cloud.kms.v1).</summary>
public static class AccessReasons
{
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        "REASON_UNSPECIFIED",
        "CUSTOMER_INITIATED_SUPPORT",
        "GOOGLE_INITIATED_SERVICE",
        "THIRD_PARTY_DATA_REQUEST",
        "GOOGLE_INITIATED_REVIEW",
        "CUSTOMER_INITIATED_ACCESS",
        "GOOGLE_INITIATED_SYSTEM_OPERATION",
        "REASON_NOT_EXPECTED",
        "MODIFIED_CUSTOMER_INITIATED_ACCESS",
        "MODIFIED_GOOGLE_INITIATED_SYSTEM_OPERATION",
        "GOOGLE_RESPONSE_TO_PRODUCTION_ALERT",
        "CUSTOMER_AUTHORIZED_WORKFLOW_SERVICING",
    };

    /// <summary>Recorded in the audit trail for a request that carried no justification.</summary>
    public const string Missing = "(missing)";
}
