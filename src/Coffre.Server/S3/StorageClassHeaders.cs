using Coffre.Objects;

namespace Coffre.Server.S3;

/// <summary>x-amz-storage-class of PutObject, CopyObject and CreateMultipartUpload, and of the GET and HEAD answers.</summary>
public static class StorageClassHeaders
{
    public const string Header = "x-amz-storage-class";

    /// <summary>The class a write asks for, STANDARD when it names none; InvalidStorageClass for a name S3 does not document.</summary>
    public static string Read(S3Call call)
    {
        if (call.Header(Header) is not { } value) return StorageClasses.Standard;
        return StorageClasses.Known.Contains(value)
            ? value
            : throw new S3Exception(S3Error.InvalidStorageClass, $"The storage class '{value}' is not valid; use one of {string.Join(", ", StorageClasses.Known)}.");
    }

    /// <summary>S3 names the class of a GET or HEAD answer, and of a write's, unless it is STANDARD.</summary>
    public static void Write(S3Call call, string storageClass)
    {
        if (storageClass != StorageClasses.Standard) call.Response.Headers[Header] = storageClass;
    }
}
