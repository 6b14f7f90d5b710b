"""Zone transitions: landing → raw or invalid → trusted → refined; uploads and replays."""
