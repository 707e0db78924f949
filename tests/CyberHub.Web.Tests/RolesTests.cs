using System.Text.RegularExpressions;
using CyberHub.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CyberHub.Web.Tests;

/// <summary>What each role may open: the studio for content creators, user management for admins.</summary>
[Collection(WebAppCollection.Name)]
public sealed class RolesTests(WebAppFixture app, ITestOutputHelper output)
{
    [Fact]
    public async Task Learner_cannot_open_the_studio_or_the_admin_pages()
    {
        await using var web = await app.OpenAsync(output, nameof(Learner_cannot_open_the_studio_or_the_admin_pages));
        var learner = Learner.New("nostudio");
        await app.Api.RegisterAsync(learner);
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await Assertions.Expect(web.LogOutButton()).ToBeVisibleAsync();
        await Assertions.Expect(web.NavLink("Studio")).ToHaveCountAsync(0);
        await Assertions.Expect(web.NavLink("Admin")).ToHaveCountAsync(0);

        await web.GotoAsync("/studio");
        await Assertions.Expect(web.Page.GetByTestId("access-denied")).ToBeVisibleAsync();
        await web.WaitForHeadingAsync("Not allowed");
        await Assertions.Expect(web.Page.GetByLabel("Content ID")).ToHaveCountAsync(0);
        await web.ShotAsync("studio-denied");

        await web.GotoAsync("/admin/users");
        await Assertions.Expect(web.Page.GetByTestId("access-denied")).ToBeVisibleAsync();
        await Assertions.Expect(web.Page.GetByTestId("user-row")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Content_creator_adds_an_item_and_finds_it_by_semantic_search()
    {
        await using var web = await app.OpenAsync(output, nameof(Content_creator_adds_an_item_and_finds_it_by_semantic_search));
        var page = web.Page;
        var creator = await app.Api.CreateContentCreatorAsync();
        await web.GotoAsync("/login");
        await web.LogInAsync(creator.Email, creator.Password);
        await Assertions.Expect(web.NavLink("Studio")).ToBeVisibleAsync();
        await Assertions.Expect(web.NavLink("Admin")).ToHaveCountAsync(0);

        await web.NavLink("Studio").ClickAsync();
        await web.ExpectAtAsync("/studio", "Content studio");
        const string title = "Detecting Kerberoasting in Active Directory";
        var contentId = $"kerberoasting-detection-{PlatformApi.Next()}";
        var type = page.GetByLabel("Content type", new() { Exact = true });
        if (await type.EvaluateAsync<string>("e => e.tagName") == "SELECT")
        {
            await type.SelectOptionAsync("lesson");
        }
        else
        {
            await type.FillAsync("lesson");
        }
        await page.GetByLabel("Content ID").FillAsync(contentId);
        await page.GetByLabel("Title").FillAsync(title);
        await page.GetByLabel("Description").FillAsync("Spot attackers requesting service tickets for accounts with SPNs and cracking them offline.");
        await page.GetByLabel("Text", new() { Exact = true }).FillAsync(
            "Kerberoasting abuses the Kerberos TGS-REQ: any domain user may ask for a service ticket encrypted with a service " +
            "account's password hash, then crack it offline. Detect it with event 4769 bursts using RC4 encryption, honey SPNs, " +
            "and long random passwords or gMSA for service accounts.");
        await web.ShotAsync("studio-filled");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save item" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("toast").First).ToBeVisibleAsync();
        await web.ShotAsync("studio-saved");

        await web.NavLink("Catalog").ClickAsync();
        await web.ExpectAtAsync("/catalog", "Catalog");
        // No word of the title: the item is found by meaning.
        await page.GetByLabel("Search the catalog").FillAsync("attackers cracking Windows domain service tickets offline");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        var hit = page.GetByTestId("search-result").Filter(new() { HasText = title });
        await Assertions.Expect(hit).ToHaveCountAsync(1);
        await web.ShotAsync("catalog-search");
        await hit.GetByRole(AriaRole.Link).First.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/content/lesson/{Regex.Escape(contentId)}$"));
        await web.WaitForHeadingAsync(title);
    }

    [Fact]
    public async Task Content_creator_uploads_a_catalog_file_and_its_items_become_searchable()
    {
        await using var web = await app.OpenAsync(output, nameof(Content_creator_uploads_a_catalog_file_and_its_items_become_searchable));
        var page = web.Page;
        var creator = await app.Api.CreateContentCreatorAsync();
        await web.GotoAsync("/login");
        await web.LogInAsync(creator.Email, creator.Password);
        await Assertions.Expect(web.NavLink("Studio")).ToBeVisibleAsync();
        await web.GotoAsync("/studio");
        await web.WaitForHeadingAsync("Content studio");

        var tag = PlatformApi.Next();
        var csv = string.Join('\n',
            "content_type,content_id,title,description",
            $"lab,bluetooth-low-energy-sniffing-{tag},Sniffing Bluetooth Low Energy Pairing,Capture BLE pairing with an nRF sniffer and crack the temporary key.",
            $"article,smart-lock-teardown-{tag},Smart Lock Teardown,How a consumer smart lock leaked its unlock token over an unauthenticated radio link.");
        await page.GetByLabel("Catalog file (JSON or CSV)").SetInputFilesAsync(new FilePayload
        {
            Name = "catalog.csv",
            MimeType = "text/csv",
            Buffer = System.Text.Encoding.UTF8.GetBytes(csv),
        });
        await Assertions.Expect(page.GetByTestId("upload-preview")).ToContainTextAsync("2 items");
        await web.ShotAsync("upload-preview");
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload 2 items" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("upload-progress")).ToContainTextAsync("2 of 2");
        await Assertions.Expect(page.GetByTestId("upload-failures")).ToHaveCountAsync(0);
        await web.ShotAsync("upload-done");

        await web.GotoAsync("/catalog");
        await page.GetByLabel("Search the catalog").FillAsync("capturing wireless pairing of BLE devices");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("search-result").Filter(new() { HasText = "Sniffing Bluetooth Low Energy Pairing" })).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task A_role_granted_while_signed_in_reaches_the_user_after_signing_in_again()
    {
        await using var web = await app.OpenAsync(output, nameof(A_role_granted_while_signed_in_reaches_the_user_after_signing_in_again));
        web.AllowConsoleError("status of 401");
        var learner = Learner.New("promoted");
        var registered = await app.Api.RegisterAsync(learner);
        await web.GotoAsync("/login");
        await web.LogInAsync(learner.Email, learner.Password);
        await web.ExpectAtAsync("/dashboard", "Dashboard");
        await Assertions.Expect(web.NavLink("Studio")).ToHaveCountAsync(0);

        // The admin makes the learner a content creator, which ends the learner's sessions at Core.
        await app.Api.SetRolesAsync(registered.User.Id, CyberHub.Contracts.Roles.Learner, CyberHub.Contracts.Roles.ContentCreator);

        // The session still holds the old roles: the studio asks Core, learns that the account changed, and says so.
        await web.OpenToBeRedirectedAsync("/studio");
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex(@"/login\?"), new() { Timeout = (float)WebSession.BootTimeout.TotalMilliseconds });
        await web.ExpectAtAsync("/login", "Log in");
        await Assertions.Expect(web.Page).ToHaveURLAsync(new Regex(@"returnUrl=%2Fstudio"));
        await Assertions.Expect(web.Page.GetByTestId("toast").Filter(new() { HasText = "log in again" })).ToHaveCountAsync(1);
        await web.ShotAsync("asked-to-log-in-again");

        await web.LogInAsync(learner.Email, learner.Password);
        await web.ExpectAtAsync("/studio", "Content studio");
        await Assertions.Expect(web.NavLink("Studio")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Admin_sees_the_users()
    {
        await using var web = await app.OpenAsync(output, nameof(Admin_sees_the_users));
        await web.GotoAsync("/login");
        await web.LogInAsync(PlatformProcess.AdminEmail, PlatformProcess.AdminPassword);
        await Assertions.Expect(web.NavLink("Admin")).ToBeVisibleAsync();
        await web.NavLink("Admin").ClickAsync();
        await web.ExpectAtAsync("/admin/users", "Users");
        await Assertions.Expect(web.Page.GetByTestId("user-row").Filter(new() { HasText = PlatformProcess.AdminEmail })).ToHaveCountAsync(1);
        await web.ShotAsync("admin-users");
    }
}
