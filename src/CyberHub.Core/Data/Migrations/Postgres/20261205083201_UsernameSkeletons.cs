using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CyberHub.Core.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class UsernameSkeletons : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "UsernameSkeleton",
                table: "users",
                type: "character varying(600)",
                maxLength: 600,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_users_UsernameSkeleton",
                table: "users",
                column: "UsernameSkeleton",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_users_UsernameSkeleton",
                table: "users");

            migrationBuilder.DropColumn(
                name: "UsernameSkeleton",
                table: "users");
        }
    }
}
