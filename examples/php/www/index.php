<?php
// Served by php-fpm through Rapid's FastCGI handler (examples/php/README.md).
$name = htmlspecialchars($_GET['name'] ?? 'world', ENT_QUOTES);
$visits = (int)($_COOKIE['visits'] ?? 0) + 1;
setcookie('visits', (string)$visits);
?><!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>PHP on Rapid</title>
<link rel="stylesheet" href="/css/site.css">
<h1>Hello, <?= $name ?>!</h1>
<p>PHP <?= PHP_VERSION ?> via <?= htmlspecialchars($_SERVER['GATEWAY_INTERFACE']) ?>,
   script <code><?= htmlspecialchars($_SERVER['SCRIPT_NAME']) ?></code>, visit number <?= $visits ?>.</p>
<form method="post" action="/form.php">
  <label>Your name <input name="name"></label> <button>Send</button>
</form>
<p><a href="/info.php/some/path?x=1">PATH_INFO and the CGI variables</a></p>
