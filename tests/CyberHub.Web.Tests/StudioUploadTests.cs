using System.Text;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>The studio's bulk upload tells an author about their file in their terms, and the item list follows it.</summary>
[Collection(WebAppCollection.Name)]
public sealed class StudioUploadTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Upload_messages_speak_of_files_and_lines_and_the_item_list_updates()
    {
        await using var web = await app.OpenAsync(output, nameof(Upload_messages_speak_of_files_and_lines_and_the_item_list_updates));
        var page = web.Page;
        var creator = await app.Api.CreateContentCreatorAsync();
        await web.GotoAsync("/login");
        await web.LogInAsync(creator.Email, creator.Password);
        await Assertions.Expect(web.NavLink("Studio")).ToBeVisibleAsync();
        await web.GotoAsync("/studio");
        await web.WaitForHeadingAsync("Content studio");
        var file = page.GetByLabel("Catalog file (JSON or CSV)");
        var fileError = page.GetByTestId("file-error");

        // A picture saved as .json: no parser internals, just what is wrong.
        await file.SetInputFilesAsync(Payload("catalog.json", "application/json", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]));
        await Assertions.Expect(fileError).ToContainTextAsync("not valid JSON");
        var text = await fileError.InnerTextAsync();
        output.WriteLine(text);
        Assert.DoesNotContain("LineNumber", text, StringComparison.Ordinal);
        Assert.DoesNotContain("0x", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Expected", text, StringComparison.Ordinal);

        // An empty CSV says there is nothing in it, not "0 items found".
        await file.SetInputFilesAsync(Payload("empty.csv", "text/csv", []));
        await Assertions.Expect(fileError).ToContainTextAsync("has no items");
        await Assertions.Expect(page.GetByTestId("upload-preview")).ToHaveCountAsync(0);

        // A CSV's entries are its lines.
        var tag = PlatformApi.Next();
        var csv = string.Join('\n',
            "content_type,content_id,title,description",
            $"video,packet-capture-basics-{tag},Packet Capture Basics,Capturing traffic with tcpdump and reading it in Wireshark.",
            "podcast,not-a-type,Not a type,The content type is unknown.",
            $"video,tls-handshake-walkthrough-{tag},TLS Handshake Walkthrough,Every message of a TLS 1.3 handshake step by step.");
        await file.SetInputFilesAsync(Payload("catalog.csv", "text/csv", Encoding.UTF8.GetBytes(csv)));
        await Assertions.Expect(page.GetByTestId("upload-problems")).ToContainTextAsync("Line 3:");
        await Assertions.Expect(page.GetByTestId("upload-problems")).Not.ToContainTextAsync("Item");
        await Assertions.Expect(page.GetByTestId("upload-preview")).ToContainTextAsync("2 items");

        // The list of items to edit, filtered to videos, shows what the upload added without a reload.
        await page.GetByLabel("Show").SelectOptionAsync("video");
        var listed = page.GetByTestId("studio-item");
        // The demo catalog has no videos, and no other test adds any.
        await Assertions.Expect(page.Locator("section[aria-labelledby='items-heading']")).ToContainTextAsync("No items match");
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload 2 items" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("upload-progress")).ToContainTextAsync("2 of 2");
        await Assertions.Expect(listed.Filter(new() { HasText = "Packet Capture Basics" })).ToHaveCountAsync(1);
        await Assertions.Expect(listed).ToHaveCountAsync(2);
        await Assertions.Expect(page.GetByTestId("studio-item-count")).ToContainTextAsync("2 items");
        await web.ShotAsync("studio-after-upload");
    }

    private static FilePayload Payload(string name, string mime, byte[] bytes) => new() { Name = name, MimeType = mime, Buffer = bytes };
}
