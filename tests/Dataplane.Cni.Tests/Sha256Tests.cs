using System.Text;
using Dataplane.Cni.Link;

namespace Dataplane.Cni.Tests;

/// <summary>The plugin's own SHA-256 (it avoids loading OpenSSL) is the same function as the system's: host veth names must not change.</summary>
public class Sha256Tests
{
    [Fact]
    public void MatchesTheSystemsSha256AtEveryLengthAroundTheBlockBoundaries()
    {
        var rng = new Random(20261207);
        for (int len = 0; len <= 200; len++)
        {
            var data = new byte[len];
            rng.NextBytes(data);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), Sha256.HashData(data));
        }
    }

    [Fact]
    public void KnownAnswersFromFips180()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            Convert.ToHexStringLower(Sha256.HashData("abc"u8)));
        Assert.Equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            Convert.ToHexStringLower(Sha256.HashData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"u8)));
    }

    [Fact]
    public void HostVethNamesAreUnchanged()
    {
        string key = "4f2a9c1e7b/eth0";
        Assert.Equal("lxc" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12],
            PodLink.HostName(key));
    }
}
