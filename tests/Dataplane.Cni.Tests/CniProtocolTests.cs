using System.Net;
using Dataplane.Cni.Cni;
using Dataplane.Cni.Ipam;

namespace Dataplane.Cni.Tests;

/// <summary>The plugin's side of the CNI protocol that needs no namespace: configuration, environment, versions, result shapes.</summary>
public sealed class CniProtocolTests
{
    private static CniEnv Env(string command, string? args = null, string ifName = "eth0") =>
        CniEnv.Read(k => k switch
        {
            "CNI_COMMAND" => command,
            "CNI_CONTAINERID" => "abc",
            "CNI_NETNS" => "/var/run/netns/x",
            "CNI_IFNAME" => ifName,
            "CNI_ARGS" => args,
            _ => null,
        });

    [Fact]
    public void VersionAnswersEveryVersionFromZeroOneToOneZero()
    {
        var v = CniPlugin.Execute(Env("VERSION"), """{"cniVersion":"0.3.1"}""")!;
        Assert.Equal("0.3.1", v["cniVersion"]!.GetValue<string>());
        Assert.Equal(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"], v["supportedVersions"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal("1.0.0", CniPlugin.Execute(Env("VERSION"), "")!["cniVersion"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("{", CniCode.DecodeFailure)]
    [InlineData("[1]", CniCode.DecodeFailure)]
    [InlineData("""{"cniVersion":"2.0.0","name":"n"}""", CniCode.IncompatibleVersion)]
    [InlineData("""{"cniVersion":"1.0.0"}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"a/b"}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","mtu":"big"}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local"}}""", CniCode.UnsupportedField)]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","ipam":{"subnets":["198.18.64.1/24"]}}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","ipam":{"subnets":["198.18.64.0/31"]}}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","args":{"cni":{"labels":[{"key":"app"}]}}}""", CniCode.InvalidNetworkConfig)]
    public void BadConfigurationsGetTheSpecsCode(string json, int code) =>
        Assert.Equal(code, Assert.Throws<CniException>(() => NetConf.Parse(json)).Code);

    [Fact]
    public void ConfigurationReadsSubnetsLabelsAndDefaults()
    {
        var c = NetConf.Parse("""
            {"cniVersion":"1.0.0","name":"pods","type":"dataplane-cni","unknownKey":{"x":1},
             "ipam":{"subnets":["198.18.64.0/24","fd00:18::/64"]},
             "runtimeConfig":{"labels":[{"key":"tier","value":"db"}]},
             "args":{"cni":{"labels":[{"key":"app","value":"web"}]}}}
            """);
        Assert.Equal([IPNetwork.Parse("198.18.64.0/24"), IPNetwork.Parse("fd00:18::/64")], c.Subnets);
        Assert.Equal(new Dictionary<string, string> { ["tier"] = "db", ["app"] = "web" }, c.Labels);
        Assert.Equal((1500, "default", NetConf.DefaultDataDir, Dataplane.Host.Api.AgentSocket.DefaultPath), (c.Mtu, c.Namespace, c.DataDir, c.AgentSocket));
    }

    [Fact]
    public void EnvironmentIsCheckedPerCommand()
    {
        var env = Env("ADD", "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web");
        Assert.Equal("shop", env.Arg("K8S_POD_NAMESPACE"));
        Assert.Equal("web", env.Arg("K8S_POD_NAME"));
        Assert.Equal(CniCode.InvalidEnvironment, Assert.Throws<CniException>(() => Env("ADD", "novalue")).Code);
        Assert.Equal(CniCode.InvalidEnvironment, Assert.Throws<CniException>(() => Env("ADD", ifName: "much-too-long-name").Require(netns: true)).Code);
        Assert.Equal(CniCode.InvalidEnvironment, Assert.Throws<CniException>(() => CniEnv.Read(_ => null)).Code);
        Assert.Equal(CniCode.InvalidEnvironment, Assert.Throws<CniException>(() => CniPlugin.Execute(Env("GC"), "{}")).Code);
    }

    [Fact]
    public void ResultsHaveTheShapeOfTheRequestedVersion()
    {
        var net = IPNetwork.Parse("198.18.64.0/24");
        List<HostLocalIpam.Allocation> ips = [new(net, IPAddress.Parse("198.18.64.2"), IPAddress.Parse("198.18.64.1"))];
        var v1 = CniResult.Build("1.0.0", "lxc0123456789ab", "02:00:00:00:00:01", "eth0", "02:00:00:00:00:02", "/var/run/netns/p", ips);
        Assert.Equal("""
            {"cniVersion":"1.0.0","interfaces":[{"name":"lxc0123456789ab","mac":"02:00:00:00:00:01"},{"name":"eth0","mac":"02:00:00:00:00:02","sandbox":"/var/run/netns/p"}],"ips":[{"address":"198.18.64.2/24","gateway":"198.18.64.1","interface":1}],"routes":[{"dst":"0.0.0.0/0","gw":"198.18.64.1"}],"dns":{}}
            """, v1.ToJsonString());
        var v04 = CniResult.Build("0.4.0", "h", "m", "eth0", "m2", "/p", ips);
        Assert.Equal("4", v04["ips"]![0]!["version"]!.GetValue<string>());
        var v02 = CniResult.Build("0.2.0", "h", "m", "eth0", "m2", "/p", ips);
        Assert.Equal("198.18.64.2/24", v02["ip4"]!["ip"]!.GetValue<string>());
        Assert.Null(v02["interfaces"]);
        var err = CniResult.Error("1.0.0", 7, "bad", null);
        Assert.Equal("""{"cniVersion":"1.0.0","code":7,"msg":"bad"}""", err.ToJsonString());
    }
}
