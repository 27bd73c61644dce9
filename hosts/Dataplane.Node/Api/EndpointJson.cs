using System.Text.Json;
using System.Text.Json.Serialization;

// Shared source, like EndpointContracts.cs: compiled into dataplane-node and dataplane-cni.
namespace Dataplane.Node.Api;

/// <summary>
/// The endpoint API's wire types as source-generated JSON with the web defaults the server uses (camelCase,
/// case-insensitive): dataplane-cni is published with NativeAOT, where reflection-based serialization is off.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(EndpointRegistration))]
[JsonSerializable(typeof(EndpointResult))]
[JsonSerializable(typeof(NodeInfo))]
public sealed partial class EndpointJson : JsonSerializerContext;
