using Coffre.Server.Admin;

namespace Coffre.Cli.AccessKeys;

/// <summary>Access keys managed through a running server's admin API (<see cref="AdminClient"/>, signed by an access key
/// that must hold the admin grant).</summary>
public sealed class RemoteAccessKeyAdmin : IAccessKeyAdmin
{
    private readonly AdminClient _admin;

    public RemoteAccessKeyAdmin(string endpoint)
    {
        _admin = new AdminClient(endpoint);
        _admin.RequireCredentials();
    }

    private const string AccessKeys = AdminApi.PathPrefix + "/access-keys";

    public Task<AccessKeyBody> CreateAsync(CreateAccessKeyBody request, CancellationToken ct) => _admin.SendAsync<AccessKeyBody>("POST", AccessKeys, request, ct);

    public async Task<IReadOnlyList<AccessKeyBody>> ListAsync(CancellationToken ct) =>
        (await _admin.SendAsync<AccessKeyListBody>("GET", AccessKeys, null, ct).ConfigureAwait(false)).AccessKeys;

    public Task<AccessKeyBody> ShowAsync(string accessKeyId, CancellationToken ct) => _admin.SendAsync<AccessKeyBody>("GET", KeyPath(accessKeyId), null, ct);

    public Task<AccessKeyBody> GrantAsync(string accessKeyId, GrantAccessKeyBody request, CancellationToken ct) =>
        _admin.SendAsync<AccessKeyBody>("POST", KeyPath(accessKeyId) + "/grant", request, ct);

    public Task<AccessKeyBody> RevokeAsync(string accessKeyId, CancellationToken ct) => _admin.SendAsync<AccessKeyBody>("POST", KeyPath(accessKeyId) + "/revoke", null, ct);

    public Task<AccessKeyBody> RotateAsync(string accessKeyId, CancellationToken ct) => _admin.SendAsync<AccessKeyBody>("POST", KeyPath(accessKeyId) + "/rotate", null, ct);

    private static string KeyPath(string accessKeyId) => AccessKeys + "/" + Uri.EscapeDataString(accessKeyId);

    public void Dispose() => _admin.Dispose();
}
